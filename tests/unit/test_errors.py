"""shared.errors on a bare app: the unexpected failure and the refusal table."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared import errors
from shared.asyncapi import topic_matches


class Boom(Exception):
    pass


class Taken(Exception):
    pass


class TakenTwice(Taken):
    pass


async def test_an_unexpected_exception_is_a_500_in_the_one_shape_without_internals() -> None:
    app = FastAPI()
    errors.install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise Boom("secret internals: mongodb://user:pw@host")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": errors.InternalError.message,
            "details": [],
        }
    }


def test_the_most_specific_refusal_listed_first_wins_and_carries_the_reason() -> None:
    table = {
        TakenTwice: errors.Refusal(errors.Conflict, "taken_twice", "Dos veces."),
        Taken: errors.Refusal(errors.Conflict, "taken", "Ya tomada."),
    }
    error = errors.refuse(TakenTwice("by staff:ana"), table)
    assert (error.status, error.code, error.message) == (409, "taken_twice", "Dos veces.")
    assert error.details == [errors.ErrorDetail(message="by staff:ana", type="reason")]
    unknown = errors.refuse(Boom(), table)
    assert (unknown.status, unknown.code, unknown.details) == (409, "conflict", [])


def test_topic_patterns_match_like_rabbitmq() -> None:
    assert topic_matches("inbound.#", "inbound.ivr.call")
    assert topic_matches("customer.*", "customer.updated")
    assert not topic_matches("customer.*", "customer.updated.extra")
    assert topic_matches("#", "a.b")
    assert not topic_matches("conversation.opened", "conversation.closed")
