"""Session-wide real infrastructure: RabbitMQ and a MongoDB wire-protocol server.

MongoDB comes from TEST_MONGO_URL, else a testcontainers mongo when Docker works, else one
SecantusDB server in a child process for the whole session (it takes seconds to start and
stop, so it is shared). RabbitMQ comes from TEST_AMQP_URL. Every session works under its own
namespace (exchange/queue prefix and database prefix) and removes its queues at the end, so
parallel runs on one broker never see each other's messages.

Settings come from tests/settings.py: neither a `.env` nor the shell's variables (TZ=UTC,
LARA_ENGINE, ...) reach a test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.config import Settings
from tests.settings import isolated_settings

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

# A shell that exported the platform's own variables (AUTH_SECRET, TZ, LARA_ENGINE, ...) must
# not change what a test tests, nor what a platform a test starts in a child process reads.
for _name in Settings.model_fields:
    os.environ.pop(_name.upper(), None)


def _docker_mongo() -> Iterator[str] | None:
    try:
        from testcontainers.mongodb import MongoDbContainer

        container = MongoDbContainer("mongo:8")
        container.start()
    except Exception:
        return None

    def gen() -> Iterator[str]:
        try:
            yield container.get_connection_url()
        finally:
            container.stop()

    return gen()


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    if url := os.environ.get("TEST_MONGO_URL"):
        yield url
        return
    if os.environ.get("TEST_TRY_DOCKER") == "1" and (gen := _docker_mongo()) is not None:
        yield from gen
        return
    from contactcenter.embedded_mongo import EmbeddedMongo

    server = EmbeddedMongo(":memory:")
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def settings(mongo_url: str, namespace: str) -> Settings:
    return isolated_settings(
        amqp_url=AMQP_URL,
        mongo_url=mongo_url,
        bus_namespace=namespace,
        mongo_db_prefix=f"{namespace}_",
        log_json=True,
        log_level="WARNING",
        prefetch_count=20,
        hold_reminder_seconds=1.0,
        # A chats row's last message waits out this window (10 s deployed); the coalescing
        # has its own test (tests/integration/exports/test_chat_lines_coalesced.py).
        exports_chat_line_seconds=1.0,
        dev_mode=True,  # the development secrets are the test secrets
        # Every in-process client shares one address; refusals are what many tests assert.
        # The throttle has its own tests (tests/integration/security/test_throttling.py).
        auth_failure_limit=1_000_000,
    )


async def _delete_namespace(settings: Settings) -> None:
    import aio_pika

    from shared.bus import EXCHANGE, SERVICES_WITH_DLQ, SUBSCRIPTIONS

    prefix = f"{settings.bus_namespace}."
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        names = [f"{prefix}{s.service}.{s.topic}" for s in SUBSCRIPTIONS]
        names += [f"{prefix}{svc}.dlq" for svc in SERVICES_WITH_DLQ]
        for name in names:
            try:
                await channel.queue_delete(name)
            except Exception:
                channel = await connection.channel()
        for ex in [EXCHANGE, *(f"contact.dlx.{svc}" for svc in SERVICES_WITH_DLQ)]:
            try:
                await channel.exchange_delete(f"{prefix}{ex}")
            except Exception:
                channel = await connection.channel()


@pytest.fixture(scope="session")
async def platform(settings: Settings) -> AsyncIterator[object]:
    """All five services in this process, exactly as `contactcenter up` runs them."""
    from tests.support import Platform

    plat = Platform(settings)
    await plat.start()
    yield plat
    await plat.stop()
    await _delete_namespace(settings)
