"""HTTP API of the customers service. Agents may read; staff and admins change; admins
configure the tag catalogue and extra fields. Domain refusals map to status codes in
`STATUS` below, the one place that decides them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.customers import domain, metrics
from services.customers.handlers import CustomerHandlers
from shared.auth import AdminUser, AnyStaff, StaffUser, settings_dependency

T = TypeVar("T")

STATUS: dict[type[domain.CustomerError], int] = {
    domain.CustomerNotFound: status.HTTP_404_NOT_FOUND,
    domain.IdentityNotFound: status.HTTP_404_NOT_FOUND,
    domain.MergeNotFound: status.HTTP_404_NOT_FOUND,
    domain.InvalidField: 422,
    domain.UnknownTag: 422,
    domain.NoteRequired: 422,
    domain.AlreadyTagged: status.HTTP_409_CONFLICT,
    domain.NotTagged: status.HTTP_409_CONFLICT,
    domain.TagExists: status.HTTP_409_CONFLICT,
    domain.CustomerMerged: status.HTTP_409_CONFLICT,
    domain.CustomerAnonymized: status.HTTP_409_CONFLICT,
    domain.MergeRefused: status.HTTP_409_CONFLICT,
    domain.UnmergeRefused: status.HTTP_409_CONFLICT,
    domain.CommentsAreImmutable: status.HTTP_405_METHOD_NOT_ALLOWED,
}


async def guard(call: Awaitable[T]) -> T:
    """Await a handler; turn a domain refusal into its HTTP status with a clear message."""
    try:
        return await call
    except domain.CustomerError as exc:
        code = next((c for kind, c in STATUS.items() if isinstance(exc, kind)), 409)
        metrics.REFUSALS.labels(type(exc).__name__).inc()
        if isinstance(exc, domain.InvalidField):
            detail: Any = [
                {"loc": ["body", *exc.field.split(".")], "msg": exc.message, "type": "value_error"}
            ]
        elif isinstance(exc, domain.NoteRequired):
            detail = [{"loc": ["body", "note"], "msg": str(exc), "type": "missing"}]
        else:
            detail = str(exc)
        headers = {"Allow": "GET, POST"} if code == 405 else None
        raise HTTPException(code, detail, headers=headers) from exc


class NoteBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class TagBody(BaseModel):
    tag: str = Field(min_length=1, max_length=48)
    note: str | None = Field(default=None, max_length=2000)


class NewTagBody(BaseModel):
    tag: str = Field(min_length=2, max_length=48)
    label: str = Field(min_length=1, max_length=100)


class MergeBody(BaseModel):
    other_id: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class UnmergeBody(BaseModel):
    merge_id: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class FieldDefinition(BaseModel):
    key: str
    label: str | None = None
    type: str = "text"


class FieldDefinitions(BaseModel):
    fields: list[FieldDefinition]


async def _optional_note(request: Request, note: str | None) -> str | None:
    """DELETE and block/unblock take the note as `?note=` or as a JSON body `{"note"}`."""
    if note is not None:
        return note
    raw = await request.body()
    if not raw:
        return None
    try:
        body = NoteBody.model_validate_json(raw)
    except ValueError as exc:
        raise HTTPException(422, 'expected a JSON body {"note": "..."}') from exc
    return body.note


def build_router(handlers: CustomerHandlers) -> APIRouter:
    router = APIRouter(tags=["customers"])

    @router.get("/api/customers", summary="Search customers by name, document, phone or email")
    async def search(
        user: AnyStaff,
        q: Annotated[str, Query(max_length=200)] = "",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        return await guard(handlers.search(q, limit, offset))

    @router.get("/api/customers/{customer_id}", summary="A customer's profile and identities")
    async def get_customer(customer_id: str, user: AnyStaff) -> dict[str, Any]:
        return await guard(handlers.get(customer_id))

    @router.patch("/api/customers/{customer_id}", summary="Edit a customer's profile")
    async def patch_customer(
        customer_id: str,
        user: StaffUser,
        body: Annotated[dict[str, Any], Body()],
        request: Request,
    ) -> dict[str, Any]:
        # Phones typed the local way become E.164 in the deployment's default country.
        body = domain.localize_phones(body, settings_dependency(request).default_country)
        return await guard(handlers.update_profile(customer_id, body, user))

    @router.get(
        "/api/customers/{customer_id}/suggestions",
        summary="Other customers with the same phone, email or document",
    )
    async def suggestions(customer_id: str, user: AnyStaff) -> list[dict[str, Any]]:
        return await guard(handlers.suggestions(customer_id))

    @router.post("/api/customers/{customer_id}/merge", summary="Absorb another customer")
    async def merge(customer_id: str, body: MergeBody, user: StaffUser) -> dict[str, Any]:
        return await guard(handlers.merge(customer_id, body.other_id, body.note, user))

    @router.post("/api/customers/{customer_id}/unmerge", summary="Undo a merge exactly")
    async def unmerge(customer_id: str, body: UnmergeBody, user: StaffUser) -> dict[str, Any]:
        return await guard(handlers.unmerge(customer_id, body.merge_id, body.note, user))

    @router.get("/api/tags", summary="The tag catalogue")
    async def tags(user: AnyStaff) -> list[dict[str, Any]]:
        return await guard(handlers.catalogue())

    @router.post("/api/tags", status_code=201, summary="Define a new tag (admin)")
    async def create_tag(body: NewTagBody, user: AdminUser) -> dict[str, Any]:
        return await guard(handlers.create_tag(body.tag, body.label, user))

    @router.post(
        "/api/customers/{customer_id}/tags", status_code=201, summary="Tag a customer (note)"
    )
    async def add_tag(customer_id: str, body: TagBody, user: StaffUser) -> dict[str, Any]:
        return await guard(handlers.add_tag(customer_id, body.tag, body.note, user))

    @router.delete("/api/customers/{customer_id}/tags/{tag}", summary="Remove a tag (note)")
    async def remove_tag(
        customer_id: str, tag: str, request: Request, user: StaffUser, note: str | None = None
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.remove_tag(customer_id, tag, note, user))

    @router.get("/api/customers/{customer_id}/tags/history", summary="Tag history")
    async def tag_history(customer_id: str, user: AnyStaff) -> list[dict[str, Any]]:
        return await guard(handlers.tag_history(customer_id))

    @router.post(
        "/api/customers/{customer_id}/identities/{identity_key:path}/block",
        summary="Block an identity: its messages open no conversation",
    )
    async def block(
        customer_id: str,
        identity_key: str,
        request: Request,
        user: StaffUser,
        note: str | None = None,
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.set_blocked(customer_id, identity_key, True, note, user))

    @router.post(
        "/api/customers/{customer_id}/identities/{identity_key:path}/unblock",
        summary="Unblock an identity",
    )
    async def unblock(
        customer_id: str,
        identity_key: str,
        request: Request,
        user: StaffUser,
        note: str | None = None,
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.set_blocked(customer_id, identity_key, False, note, user))

    @router.get("/api/customers/{customer_id}/export", summary="All data of a customer (JSON)")
    async def export(customer_id: str, user: StaffUser) -> dict[str, Any]:
        return await guard(handlers.export(customer_id, user))

    @router.post("/api/customers/{customer_id}/anonymize", summary="Erase personal data")
    async def anonymize(
        customer_id: str, request: Request, user: StaffUser, note: str | None = None
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.anonymize(customer_id, user, note))

    @router.post(
        "/api/customers/{customer_id}/comments", status_code=201, summary="Comment on the case"
    )
    async def add_comment(customer_id: str, body: CommentBody, user: StaffUser) -> dict[str, Any]:
        return await guard(handlers.add_comment(customer_id, body.text, user))

    @router.get("/api/customers/{customer_id}/comments", summary="Case comments, oldest first")
    async def comments(customer_id: str, user: AnyStaff) -> list[dict[str, Any]]:
        return await guard(handlers.comments(customer_id))

    async def change_comment(customer_id: str, comment_id: str, user: AnyStaff) -> JSONResponse:
        return JSONResponse(
            {
                "detail": "case comments are append-only: a comment cannot be edited or "
                "deleted; add a new comment instead"
            },
            status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
            headers={"Allow": "GET, POST"},
        )

    for method in ("PUT", "PATCH", "DELETE"):
        router.add_api_route(
            "/api/customers/{customer_id}/comments/{comment_id}",
            change_comment,
            methods=[method],
            summary="Refused: case comments are append-only",
            operation_id=f"refuse_comment_{method.lower()}",
        )

    @router.get("/api/customers/{customer_id}/audit", summary="Who did what to this customer")
    async def audit(customer_id: str, user: AnyStaff) -> list[dict[str, Any]]:
        return await guard(handlers.audit(customer_id))

    @router.get("/api/customer-fields", summary="Admin-configured extra profile fields")
    async def fields(user: AnyStaff) -> list[dict[str, Any]]:
        return await guard(handlers.field_definitions())

    @router.put("/api/customer-fields", summary="Configure extra profile fields (admin)")
    async def put_fields(body: FieldDefinitions, user: AdminUser) -> list[dict[str, Any]]:
        return await guard(
            handlers.save_field_definitions([f.model_dump() for f in body.fields], user)
        )

    return router
