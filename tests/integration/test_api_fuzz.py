"""Property-based fuzzing of the whole HTTP surface from its own OpenAPI schema.

Schemathesis generates valid and invalid requests for every operation and sends them over
real HTTP to the platform running as a child process. Whatever arrives, the answer is never
a 500: bad input gets a 4xx that says what is wrong.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shared.auth import issue_token
from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.faults.harness import PlatformProcess


@pytest.fixture(scope="module")
def live_platform(settings: Settings) -> Iterator[tuple[PlatformProcess, Settings]]:
    ns = f"z{uuid.uuid4().hex[:10]}"
    fuzz_settings = settings.model_copy(update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_"})
    platform = PlatformProcess(fuzz_settings, "up")
    platform.start()
    yield platform, fuzz_settings
    platform.stop()
    asyncio.run(_delete_namespace(fuzz_settings))


def test_no_request_makes_the_api_answer_500(live_platform: tuple[PlatformProcess, Settings]):
    platform, fuzz_settings = live_platform
    schema = schemathesis.openapi.from_url(f"{platform.base_url}/openapi.json")
    auth = {"Authorization": f"Bearer {issue_token(fuzz_settings, 'fuzzer', 'admin')}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def send(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=platform.base_url, headers=auth, timeout=60)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

        send()
    assert operations >= 60, "the schema lost operations"
    assert failures == []
