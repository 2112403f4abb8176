"""The failed-credential throttle: per client and credential, per window, bounded memory."""

from __future__ import annotations

import time

import pytest

from shared import throttle
from shared.throttle import FailureThrottle


def test_a_client_is_blocked_at_the_limit_for_that_credential_only():
    t = FailureThrottle(limit=2, window_seconds=60)
    t.failed("a", "portal_token")
    assert t.retry_after("a", "portal_token") == 0
    t.failed("a", "portal_token")
    assert 59 < t.retry_after("a", "portal_token") <= 60
    assert t.retry_after("a", "webchat_token") == 0
    assert t.retry_after("b", "portal_token") == 0


def test_the_block_ends_with_the_window():
    t = FailureThrottle(limit=1, window_seconds=0.05)
    t.failed("a", "staff_jwt")
    assert t.retry_after("a", "staff_jwt") > 0
    time.sleep(0.06)
    assert t.retry_after("a", "staff_jwt") == 0
    t.failed("a", "staff_jwt")  # a new window starts counting from one
    assert t.retry_after("a", "staff_jwt") > 0


def test_memory_stays_bounded_under_many_addresses(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(throttle, "MAX_TRACKED", 100)
    t = FailureThrottle(limit=1, window_seconds=60)
    for i in range(1_000):
        t.failed(f"10.0.{i // 256}.{i % 256}", "signature")
    assert len(t._windows) <= 100
    assert t.retry_after("10.0.3.231", "signature") > 0  # the most recent are kept
