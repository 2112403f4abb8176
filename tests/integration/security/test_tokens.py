"""Issue 16.15: staff JWTs have a capped lifetime, numeric claims, can be revoked per user,
and every refusal is the same generic 401."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt
import pytest

from shared.auth import UNAUTHORIZED_MESSAGE, issue_token
from shared.revocations import Revocations
from tests.support import Platform

# One answer whatever the reason (the reason goes to the log only).
REFUSED = {"error": {"code": "invalid_token", "message": UNAUTHORIZED_MESSAGE, "details": []}}


def _signed(platform: Platform, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    body = {"sub": "ana", "role": "staff", "iat": now, "exp": now + 600, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    token = jwt.encode(body, platform.settings.auth_secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


async def _status(platform: Platform, headers: dict[str, str]) -> tuple[int, Any]:
    response = await platform.http.get("/api/stream", headers=headers)
    return response.status_code, response.json()


async def test_a_well_formed_token_is_accepted(platform: Platform):
    assert (await _status(platform, _signed(platform)))[0] == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 10_414_220_400},  # the year 2300
        {"exp": str(int(time.time()) + 600)},  # a string
        {"iat": str(int(time.time()))},
        {"iat": None},  # missing
        {"iat": int(time.time()) + 3600},  # issued in the future
        {"exp": True},
    ],
    ids=["exp_2300", "exp_string", "iat_string", "iat_missing", "iat_future", "exp_bool"],
)
async def test_lifetime_over_the_cap_or_non_numeric_claims_are_refused(
    platform: Platform, claims: dict[str, Any]
):
    assert await _status(platform, _signed(platform, **claims)) == (
        401,
        REFUSED,
    )


async def test_every_refusal_says_the_same_thing(platform: Platform):
    past = int(time.time()) - 7200
    cases = [
        {"Authorization": "Bearer not-a-jwt"},
        _signed(platform, iat=past, exp=past + 60),  # expired
        _signed(platform, role="root"),
        {"Authorization": _signed(platform)["Authorization"][:-3] + "abc"},  # bad signature
    ]
    answers = [await _status(platform, headers) for headers in cases]
    assert answers == [(401, REFUSED)] * len(cases)
    # No bearer token at all (another scheme): the same message, only the code says "missing".
    status, body = await _status(platform, {"Authorization": "Basic YW5hOmFuYQ=="})
    assert (status, body["error"]["message"]) == (401, UNAUTHORIZED_MESSAGE)
    assert body["error"]["details"] == []


def test_issuing_a_token_longer_than_the_cap_is_refused(platform: Platform):
    with pytest.raises(ValueError, match="MAX_TOKEN_MINUTES"):
        issue_token(platform.settings, "ana", "staff", platform.settings.max_token_minutes + 1)


async def test_an_admin_revokes_a_users_tokens_everywhere_and_new_ones_work(platform: Platform):
    user = f"u{uuid.uuid4().hex[:8]}"
    old = platform.auth(user, "agent")
    other = platform.auth(f"{user}x", "agent")
    assert (await _status(platform, old))[0] == 200

    refused = await platform.http.post(f"/api/access/users/{user}/revoke", headers=old)
    assert refused.status_code == 403
    revoked = await platform.http.post(
        f"/api/access/users/{user}/revoke", headers=platform.auth("root", "admin")
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["user_id"] == user

    assert await _status(platform, old) == (401, REFUSED)
    # Every route, not only one service: the guard checks before any router.
    for path in ("/api/customers", "/api/tables/chats", "/api/services"):
        assert (await platform.http.get(path, headers=old)).status_code == 401
    assert (await _status(platform, other))[0] == 200  # only that user

    # Another process (its own lookup, its own cache) reads the same revocation.
    stored = await platform.db("access")["revocations"].find_one({"_id": user})
    assert stored is not None and stored["revoked_by"] == "admin:root"
    elsewhere = Revocations(platform.settings, platform.ctx.mongo)
    assert await elsewhere.valid_after(user) == stored["tokens_valid_after"]
    assert await elsewhere.valid_after(f"{user}x") is None

    await asyncio.sleep(1.1)  # iat has whole seconds: a token from the next second
    assert (await _status(platform, platform.auth(user, "agent")))[0] == 200
