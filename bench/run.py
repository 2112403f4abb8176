"""`python -m bench.run`: the platform under stepped load, then the raw baseline, then the ratio.

Starts `contactcenter up` as a child process on its own port with its own bus namespace and
database prefix (MONGO_URL from the environment, else an in-memory SecantusDB started here),
or targets a running platform with --base-url (then only the API-sampled latency is measured
unless --mongo-url and --db-prefix tell where routing stores messages). Removes its queues,
exchanges and databases at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.baseline import run_baseline, run_db_probe
from bench.load import (
    PlatformProcess,
    StepResult,
    mongo_client,
    percentile,
    run_steps,
    summarize,
)
from bench.probes import (
    CpuMeter,
    OutboundProbe,
    broker_pid,
    bus_traffic,
    metric_totals,
    preload,
)
from bench.writes import print_write_budget, run_write_budget
from shared.config import Settings


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError):
        mem_kb = 0
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": host.python_version(),
    }


async def delete_namespace(settings: Settings, extra_queues: list[str]) -> None:
    import aio_pika

    from shared.bus import EXCHANGE, SERVICES_WITH_DLQ, SUBSCRIPTIONS

    prefix = f"{settings.bus_namespace}."
    names = [f"{prefix}{s.service}.{s.topic}" for s in SUBSCRIPTIONS]
    names += [f"{prefix}{svc}.dlq" for svc in SERVICES_WITH_DLQ] + extra_queues
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            try:
                await channel.queue_delete(name)  # not Queue.delete(): if_unused breaks quorum
            except Exception:
                channel = await connection.channel()
        for ex in [EXCHANGE, *(f"contact.dlx.{svc}" for svc in SERVICES_WITH_DLQ)]:
            try:
                await channel.exchange_delete(f"{prefix}{ex}")
            except Exception:
                channel = await connection.channel()


def db_commands(ops: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """Database commands the platform sent, per accepted webhook, busiest first."""
    steps = report.get("platform", {}).get("steps", [])
    budget = report.get("write_budget", {})
    accepted = sum(s["accepted"] for s in steps)
    accepted += sum(
        budget.get(p, {}).get("accepted", 0) for p in ("first_contact", "repeat_customer")
    )
    accepted = accepted or 1
    ops = {k: v for k, v in ops.items() if k != "documents_written"}
    total = sum(v["count"] for v in ops.values())
    return {
        "accepted_webhooks": accepted,
        "commands_per_message": round(total / accepted, 1),
        "by_kind_per_message": {
            k: {"per_message": round(v["count"] / accepted, 2), "seconds": v["seconds"]}
            for k, v in list(ops.items())[:25]
        },
    }


class StepObserver:
    """Per step: CPU of the platform, the database server and the broker, the bus traffic
    the platform caused, and Lara's answers reaching the bus, per accepted message."""

    def __init__(self, base_url: str, pids: dict[str, int | None], outbound: OutboundProbe):
        self.base_url = base_url
        self.pids = pids
        self.outbound = outbound
        self.cpu = CpuMeter(pids)
        self.metrics: dict[str, float] = {}

    async def before(self) -> None:
        self.metrics = await metric_totals(self.base_url)
        self.cpu = CpuMeter(self.pids)
        self.cpu.start()

    async def after(self, result: StepResult) -> None:
        await asyncio.sleep(1.0)  # the last batches' downstream events
        used = self.cpu.stop()
        traffic = bus_traffic(self.metrics, await metric_totals(self.base_url))
        n = max(1, result.accepted)
        result.extra["cpu_ms_per_message"] = {k: round(v * 1000 / n, 2) for k, v in used.items()}
        result.extra["cpu_ms_per_message"]["all"] = round(sum(used.values()) * 1000 / n, 2)
        result.extra["publishes_per_message"] = round(traffic["publishes"] / n, 2)
        result.extra["deliveries_per_message"] = round(traffic["deliveries"] / n, 2)
        lara = self.outbound.lara_answer_ms(result.accepted_at)
        result.extra["lara_answers"] = len(lara)
        result.extra["lara_answer_p50_ms"] = round(percentile(lara, 50), 1)
        result.extra["lara_answer_p99_ms"] = round(percentile(lara, 99), 1)


def print_step(result: StepResult) -> None:
    s = result.summary()
    print(
        f"  {s['target_rate']:>4}/s offered {s['offered_rate']}/s -> accepted "
        f"{s['achieved_rate']}/s ({s['accepted']}) "
        f"failed={s['failed']} webhook p50/p99={s['webhook_p50_ms']}/{s['webhook_p99_ms']} ms "
        f"stored p50/p99={s['stored_p50_ms']}/{s['stored_p99_ms']} ms "
        f"visible p50/p99={s['visible_p50_ms']}/{s['visible_p99_ms']} ms "
        f"({s['visible_samples']} samples) not_stored={s['not_stored']} "
        f"lara p50/p99={s.get('lara_answer_p50_ms')}/{s.get('lara_answer_p99_ms')} ms "
        f"cpu ms/msg={s.get('cpu_ms_per_message')} "
        f"publishes/msg={s.get('publishes_per_message')} "
        f"deliveries/msg={s.get('deliveries_per_message')} "
        f"{'SUSTAINED' if s['sustained'] else 'NOT sustained'}",
        file=sys.stderr,
        flush=True,
    )


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    base = Settings()
    mongo_url = args.mongo_url or os.environ.get("MONGO_URL")
    embedded = None
    if not args.base_url and not mongo_url:
        from contactcenter.embedded_mongo import EmbeddedMongo

        embedded = EmbeddedMongo(":memory:")
        mongo_url = embedded.start()
    prefix = args.db_prefix if args.base_url else f"{namespace}_"
    settings = base.model_copy(
        update={
            "bus_namespace": base.bus_namespace if args.base_url else namespace,
            "mongo_db_prefix": prefix if prefix is not None else base.mongo_db_prefix,
            "mongo_url": mongo_url,
            "prefetch_count": args.prefetch or base.prefetch_count,
        }
    )
    report: dict[str, Any] = {"machine": machine(), "namespace": settings.bus_namespace}
    report["machine"]["load_average_at_start"] = os.getloadavg()
    proc: PlatformProcess | None = None
    replicas: list[PlatformProcess] = []
    baseline_queue = f"{namespace}.baseline"
    started = time.monotonic()
    try:
        if mongo_url and not args.skip_baseline:
            # Before the platform runs: the database's ceiling with nothing else on it.
            print("database alone (concurrent upserts)", file=sys.stderr)
            report["database_only"] = await run_db_probe(mongo_url, f"{namespace}_probe")
        if args.preload and mongo_url and not args.base_url:
            print(f"preloading {args.preload} conversations and customers", file=sys.stderr)
            report["preload"] = {
                "conversations_and_customers": args.preload,
                "seconds": round(await preload(mongo_url, settings, args.preload), 1),
            }
        if args.base_url:
            base_url = args.base_url
        else:
            log_path = Path(args.log or f"/tmp/{namespace}-platform.log")
            db_ops_path = Path(f"/tmp/{namespace}-db-ops.json")
            proc = PlatformProcess(
                settings, args.port, log_path, db_ops_path, extra_env=replica_env(args, 0)
            )
            print(f"starting contactcenter up on :{args.port} ({namespace})", file=sys.stderr)
            await proc.start()
            base_url = proc.base_url
            # --replicas N: N - 1 more processes of each consuming service, same database.
            for index in range(1, args.replicas):
                for service in ("routing", "customers"):
                    port = args.port + 10 * index + len(replicas)
                    extra = PlatformProcess(
                        settings,
                        port,
                        Path(f"/tmp/{namespace}-{service}-{index}.log"),
                        service=service,
                        extra_env=replica_env(args, index),
                    )
                    print(f"starting run {service} replica {index} on :{port}", file=sys.stderr)
                    await extra.start()
                    replicas.append(extra)
            if replicas:
                report["replicas"] = args.replicas
                report["routing_partitions"] = replica_env(args, 0)["ROUTING_PARTITIONS"]
        cpu0 = proc.cpu_seconds() if proc else None
        replica_cpu0 = [r.cpu_seconds() or 0.0 for r in replicas]
        t0 = time.monotonic()
        pids = {
            "platform": proc.process.pid if proc and proc.process else None,
            "database": embedded.process.pid if embedded and embedded.process else None,
            "broker": broker_pid(),
        }
        outbound = OutboundProbe(settings)
        await outbound.start()
        observer = StepObserver(base_url, pids, outbound)
        if proc and args.write_budget:
            print(
                f"write budget: {args.write_budget} first contacts, then repeats", file=sys.stderr
            )
            report["write_budget"] = await run_write_budget(
                settings, proc, pids, outbound.stored, args.write_budget, args.write_budget_rate
            )
            print_write_budget(report["write_budget"])
        async with mongo_client(mongo_url if (proc or args.db_prefix is not None) else None) as db:
            rates = [int(r) for r in args.rates.split(",") if r.strip()]
            print(f"platform: steps {rates}/s, {args.step_seconds}s each", file=sys.stderr)
            results = await run_steps(
                settings,
                base_url,
                db,
                rates,
                args.step_seconds,
                args.budget,
                print_step,
                args.sustain_p99_ms,
                observer,
                None if args.poll_database else outbound.stored,
            )
        await outbound.stop()
        if proc and cpu0 is not None:
            cpu1 = proc.cpu_seconds() or cpu0
            report["platform_cpu_cores_busy"] = round((cpu1 - cpu0) / (time.monotonic() - t0), 2)
            if replicas:
                busy = [
                    round(((r.cpu_seconds() or 0.0) - c0) / (time.monotonic() - t0), 2)
                    for r, c0 in zip(replicas, replica_cpu0, strict=True)
                ]
                report["replica_cpu_cores_busy"] = busy
                report["all_processes_cpu_cores_busy"] = round(
                    report["platform_cpu_cores_busy"] + sum(busy), 2
                )
        report["platform"] = summarize(results, args.p99_target_ms)
        if mongo_url and not args.skip_baseline:
            print(f"baseline: {args.baseline_messages} messages", file=sys.stderr)
            baseline = await run_baseline(
                settings.amqp_url,
                mongo_url,
                baseline_queue,
                f"{namespace}_baseline",
                messages=args.baseline_messages,
                prefetch=settings.prefetch_count,
            )
            report["baseline"] = baseline.summary()
            print("broker alone (no database write)", file=sys.stderr)
            broker_only = await run_baseline(
                settings.amqp_url,
                mongo_url,
                f"{baseline_queue}.nodb",
                f"{namespace}_baseline",
                messages=args.baseline_messages,
                prefetch=settings.prefetch_count,
                write=False,
            )
            report["broker_only"] = broker_only.summary()
            print("database alone again (concurrent upserts)", file=sys.stderr)
            report["database_only_after"] = await run_db_probe(mongo_url, f"{namespace}_probe")
            platform_rate = report["platform"]["max_sustained_rate"]
            report["ratio_platform_to_baseline"] = (
                round(platform_rate / baseline.rate, 3) if baseline.rate else None
            )
    finally:
        for replica in replicas:
            replica.stop()
        if proc:
            proc.stop()
            if proc.db_ops_path and proc.db_ops_path.exists():
                report["platform_db_commands"] = db_commands(
                    json.loads(proc.db_ops_path.read_text()), report
                )
        if not args.base_url:
            partitions = int(replica_env(args, 0).get("ROUTING_PARTITIONS", 1))
            extra_queues = [baseline_queue, f"{baseline_queue}.nodb"]
            extra_queues += [f"{namespace}.routing.inbound.p{p}" for p in range(partitions)]
            await delete_namespace(settings, extra_queues)
            if mongo_url:
                async with mongo_client(mongo_url) as db:
                    assert db is not None
                    for name in await db.list_database_names():
                        if name.startswith(f"{namespace}_"):
                            await db.drop_database(name)
        if embedded:
            embedded.stop()
    db_ops = report.get("platform_db_commands", {}).get("commands_per_message")
    db_rate = report.get("database_only", {}).get("upserts_per_s")
    if db_ops and db_rate:
        # If every command cost what an upsert costs, the database alone would cap the platform at:
        report["database_bound_estimate_per_s"] = round(db_rate / db_ops, 1)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    return report


def replica_env(args: argparse.Namespace, index: int) -> dict[str, str]:
    """Scale-out settings of replica `index` (nothing with one replica: the default path)."""
    if args.replicas <= 1:
        return {}
    return {
        "ROUTING_PARTITIONS": str(max(4, 2 * args.replicas)),
        "REPLICA_COUNT": str(args.replicas),
        "REPLICA_INDEX": str(index),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--base-url", default=None, help="target a running platform instead")
    parser.add_argument("--mongo-url", default=None)
    parser.add_argument("--db-prefix", default=None, help="with --base-url: its MONGO_DB_PREFIX")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument(
        "--rates", default="2,5,10,25,50,100,200,400,600", help="load steps ('' for none)"
    )
    parser.add_argument(
        "--write-budget",
        type=int,
        default=100,
        help="first contacts of the write budget (then 3 more messages from each), "
        "measured before the steps; 0 to skip",
    )
    parser.add_argument("--write-budget-rate", type=float, default=20.0)
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--budget", type=float, default=180.0, help="max seconds of load steps")
    parser.add_argument("--prefetch", type=int, default=None)
    parser.add_argument("--baseline-messages", type=int, default=5000)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--p99-target-ms", type=float, default=250.0)
    parser.add_argument(
        "--sustain-p99-ms", type=float, default=1000.0, help="stored p99 bound of a sustained step"
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=0,
        help="conversations and customers written to the database before the steps",
    )
    parser.add_argument(
        "--poll-database",
        action="store_true",
        help="time 'stored' by polling routing's messages (as earlier runs did) instead of "
        "the conversation events announcing them",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="processes per consuming service: `up` plus N-1 `run routing`/`run customers`",
    )
    parser.add_argument("--log", default=None, help="platform log file")
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
