"""`contactcenter up | run <service> | token` (and `simulate`, for a running platform).

Every command reads its settings from the environment and from `.env` in the current
directory. `make up` runs `contactcenter up --write-env`, which writes that `.env` on first
run with the development secrets, so `contactcenter token` and `contactcenter simulate`,
started later in another shell from the same directory, sign and verify with the same
secrets as the running platform. Logs go to stderr (JSON lines); what a person should read
(where to go next) goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contactcenter.embedded_mongo import DataDirectoryHeld
from shared.config import Settings, UnsafeSettings, ensure_deployable

# Said loudly, but as a log line like every other (one format on stderr).
DEV_WARNING = (
    "DEV_MODE=true: development secrets are accepted. Anyone who knows them can sign staff "
    "tokens and answer the webhook handshakes. Never deploy this."
)

ENV_FILE = Path(".env")

# What `token` and `simulate` must share with the running platform (and a developer may want
# to see): the secrets that sign tokens and webhooks, where the platform listens, and where its
# data and messages live. All or nothing: a second plain `make up` must find the same port,
# bus namespace and data directory as the first, not the port of one and the data of another.
SHARED_SETTINGS: tuple[str, ...] = (
    "http_host",
    "http_port",
    "amqp_url",
    "bus_namespace",
    "data_dir",
    "auth_secret",
    "portal_token",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "messenger_app_secret",
    "messenger_verify_token",
    "webchat_token",
    "ivr_auth_token",
    "secrets_key",
)


def write_env_file(settings: Settings, path: Path = ENV_FILE) -> bool:
    """Write `path` with the shared settings' current values, unless it exists already.

    Returns whether it wrote. An existing file is never touched: it is the developer's.
    """
    if path.exists():
        return False
    lines = [
        "# Written by `make up` (contactcenter up --write-env) on first run.",
        "# Development secrets only: `contactcenter token` and `simulate` read this file",
        "# from this directory, so they match the running platform. Change them here (not in",
        "# one shell's environment) and restart; never use these values in production.",
    ]
    lines += [f"{name.upper()}={getattr(settings, name)}" for name in SHARED_SETTINGS]
    if settings.mongo_url:  # unset means the embedded database, which DATA_DIR locates
        lines.append(f"MONGO_URL={settings.mongo_url}")
    path.write_text("\n".join(lines) + "\n")
    return True


def first_login(base: str, password: str | None) -> list[str]:
    """How to sign in to the console: the first admin's password, printed this once."""
    if password is None:
        return [f"  Console:              {base}/console/  (sign in with your user)"]
    return [
        f"  Console:              {base}/console/",
        "  First sign-in:        user `admin`, password " + password,
        "                        (shown only now; create your team in Usuarios, then change it",
        "                        with POST /api/access/users/admin/password)",
    ]


def next_steps(settings: Settings, first_admin_password: str | None = None) -> str:
    """What a newcomer can do once the platform answers (printed by `up` on stdout)."""
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host  # noqa: S104
    base = f"http://{host}:{settings.http_port}"
    return "\n".join(
        [
            f"Contact center is up at {base}",
            *first_login(base, first_admin_password),
            f"  API docs (OpenAPI):   {base}/docs",
            f"  Bus docs (AsyncAPI):  {base}/asyncapi",
            f"  Health:               {base}/readyz   Metrics: {base}/metrics",
            "  A staff token:        "
            "TOKEN=$(.venv/bin/contactcenter token --user ana --role staff)",
            f'  Try it:               curl -H "Authorization: Bearer $TOKEN" {base}/api/stream',
            "  Simulated traffic:    .venv/bin/contactcenter simulate --seconds 30",
            "  (run them from this directory: they read the same .env as this process)",
        ]
    )


class EmbeddedDatabaseBusy(Exception):
    """Another process already serves the embedded database of this DATA_DIR."""


class EmbeddedDatabaseLock:
    """Who serves the embedded database of a DATA_DIR: one process at a time.

    Two embedded servers on one storage directory would each believe they own it (and a
    replica started without MONGO_URL would silently see a different database from the
    first). The first process takes an exclusive lock on `<DATA_DIR>/mongo.lock` and writes
    its MONGO_URL there; a second one is refused and told that URL. The operating system
    releases the lock when the holder exits, even by SIGKILL, so a stale file never blocks.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "mongo.lock"
        self._file: Any = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            url = handle.read().strip() or "the other process's database URL"
            handle.close()
            raise EmbeddedDatabaseBusy(
                f"another process already serves the embedded database of DATA_DIR="
                f"{self.path.parent}; a second one would not share its data. Set "
                f"MONGO_URL={url} (or point every process at one MongoDB) and start again."
            ) from None
        self._file = handle

    def publish(self, mongo_url: str) -> None:
        self._file.seek(0)
        self._file.truncate()
        self._file.write(mongo_url)
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Stopped(Exception):
    """SIGTERM arrived: unwind so that every `finally` (the embedded database's) runs."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise Stopped


def _serve(settings: Settings, names: Sequence[str], first_admin: bool = False) -> None:
    import signal

    import uvicorn

    from contactcenter.embedded_mongo import EmbeddedMongo
    from contactcenter.platform import build_app
    from shared.logging import configure_logging, get_logger

    configure_logging(settings.log_level, settings.log_json)
    log = get_logger("cli")
    # Refuse before anything starts: a deployment with development secrets is detectable
    # and exploitable from outside (see README, Configuration).
    if ensure_deployable(settings):
        log.warning(DEV_WARNING)
    # Uvicorn handles SIGINT/SIGTERM while it serves, then re-raises the signal to the
    # handler it found: with the default one, SIGTERM would kill the process right there and
    # skip the `finally` below, leaving the embedded database running, owned by nobody.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    embedded: EmbeddedMongo | None = None
    lock = EmbeddedDatabaseLock(settings.data_dir)
    if not settings.mongo_url:
        lock.acquire()
        embedded = EmbeddedMongo(settings.data_dir / "mongo")
        settings.mongo_url = embedded.start()
        lock.publish(settings.mongo_url)
        log.info("MONGO_URL unset: embedded SecantusDB started", mongo_url=settings.mongo_url)
    try:
        app = build_app(settings, names)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            timeout_graceful_shutdown=max(1, int(settings.graceful_timeout_seconds)),
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets)
                if self.started:
                    # `up` with no active admin yet makes `admin` one, with a password
                    # shown once here (stdout, never the log).
                    password = await app.state.access.ensure_first_admin() if first_admin else None
                    print(next_steps(settings, password), flush=True)

        Server(config).run()
    finally:
        if embedded:
            embedded.stop()
        lock.release()


def main(argv: Sequence[str] | None = None) -> int:
    from contactcenter.platform import SERVICE_NAMES

    parser = argparse.ArgumentParser(
        prog="contactcenter",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run all five services in one process")
    up.add_argument(
        "--write-env",
        action="store_true",
        help="first run: write ./.env with the development secrets (what `make up` does)",
    )
    run = sub.add_parser("run", help="run one service alone")
    run.add_argument("service", choices=SERVICE_NAMES)
    token = sub.add_parser("token", help="print a staff API token (same AUTH_SECRET as `up`)")
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
            if args.write_env and write_env_file(settings):
                print(
                    f"Wrote {ENV_FILE.resolve()} with the development secrets; "
                    "`contactcenter token` and `simulate` read it from this directory.",
                    flush=True,
                )
            _serve(settings, SERVICE_NAMES, first_admin=True)
        elif args.command == "run":
            _serve(settings, [args.service])
    except (UnsafeSettings, EmbeddedDatabaseBusy, DataDirectoryHeld) as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Stopped):
        return 0  # asked to stop, and stopped: everything below `up` has shut down
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
