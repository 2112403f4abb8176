"""Fault tests run apart (`-m faults`) and in CI, each in a namespace of its own, on a
RabbitMQ node they start and own (tests/brokers.py): they stop and restart that node, never
the broker on 127.0.0.1:5672 that everyone on the machine shares."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.config import Settings
from tests.brokers import RabbitNode, rabbit_node, rabbitmq_available
from tests.conftest import _delete_namespace


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def fault_broker() -> Iterator[RabbitNode]:
    """One RabbitMQ node of the fault tests' own for the session, stopped at its end."""
    if not rabbitmq_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have rabbitmq-server installed for the fault tests")
        pytest.skip("rabbitmq-server is not installed")
    with rabbit_node() as node:
        yield node


@pytest.fixture
async def fault_settings(settings: Settings, fault_broker: RabbitNode) -> AsyncIterator[Settings]:
    ns = f"f{uuid.uuid4().hex[:10]}"
    fs = settings.model_copy(
        update={
            "amqp_url": fault_broker.amqp_url,
            "bus_namespace": ns,
            "mongo_db_prefix": f"{ns}_",
        }
    )
    yield fs
    await _delete_namespace(fs)
