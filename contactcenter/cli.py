"""`contactcenter up | run <service> | token` (and `simulate`, for a running platform)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.config import Settings, UnsafeSettings, ensure_deployable

DEV_BANNER = """
********************************************************************************
*  DEV_MODE=true: development secrets are accepted. Anyone who knows them can  *
*  sign staff tokens and answer the webhook handshakes. Never deploy this.     *
********************************************************************************
"""


def _serve(settings: Settings, names: Sequence[str]) -> None:
    import uvicorn

    from contactcenter.embedded_mongo import EmbeddedMongo
    from contactcenter.platform import build_app

    # Refuse before anything starts: a deployment with development secrets is detectable
    # and exploitable from outside (see README, Configuration).
    if ensure_deployable(settings):
        print(DEV_BANNER, file=sys.stderr)
    embedded: EmbeddedMongo | None = None
    if not settings.mongo_url:
        embedded = EmbeddedMongo(settings.data_dir / "mongo")
        settings.mongo_url = embedded.start()
        print(f"MONGO_URL unset: embedded SecantusDB at {settings.mongo_url}", file=sys.stderr)
    try:
        app = build_app(settings, names)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
        uvicorn.Server(config).run()
    finally:
        if embedded:
            embedded.stop()


def main(argv: Sequence[str] | None = None) -> int:
    from contactcenter.platform import SERVICE_NAMES

    parser = argparse.ArgumentParser(prog="contactcenter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run all five services in one process")
    run = sub.add_parser("run", help="run one service alone")
    run.add_argument("service", choices=SERVICE_NAMES)
    token = sub.add_parser("token", help="print a staff API token")
    token.add_argument("--user", required=True)
    token.add_argument("--role", required=True, choices=["agent", "staff", "admin", "central"])
    token.add_argument("--minutes", type=int, default=None)
    simulate = sub.add_parser("simulate", help="drive realistic traffic against a platform")
    simulate.add_argument("--base-url", default=None)
    simulate.add_argument("--customers", type=int, default=20)
    simulate.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)

    settings = Settings()
    try:
        if args.command == "up":
            _serve(settings, SERVICE_NAMES)
        elif args.command == "run":
            _serve(settings, [args.service])
    except UnsafeSettings as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 2
    if args.command in ("up", "run"):
        return 0
    if args.command == "token":
        from shared.auth import issue_token

        print(issue_token(settings, args.user, args.role, args.minutes))
    elif args.command == "simulate":
        from contactcenter.simulate import run_simulation

        base_url = args.base_url or f"http://{settings.http_host}:{settings.http_port}"
        return run_simulation(settings, base_url, args.customers, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
