"""Fault tests run apart (`-m faults`) and in CI, each in a namespace of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.config import Settings
from tests.conftest import _delete_namespace


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@pytest.fixture
async def fault_settings(settings: Settings) -> AsyncIterator[Settings]:
    ns = f"f{uuid.uuid4().hex[:10]}"
    fs = settings.model_copy(update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_"})
    yield fs
    await _delete_namespace(fs)
