"""HTTP API of the customers service. Who may do what is `shared.auth.POLICY`: every
route names its permission (`may("customers.tag")`). Domain refusals map to the one error
shape (`shared.errors`) in `REFUSALS` below, the one place that decides them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from services.customers import domain, metrics
from services.customers.handlers import CustomerHandlers
from shared import errors
from shared.auth import User, may, settings_dependency

Reader = Annotated[User, may("customers.read")]
Updater = Annotated[User, may("customers.update")]
Tagger = Annotated[User, may("customers.tag")]
Commenter = Annotated[User, may("customers.comment")]
Merger = Annotated[User, may("customers.merge")]
Blocker = Annotated[User, may("customers.block")]
Anonymizer = Annotated[User, may("customers.anonymize")]
Configurer = Annotated[User, may("customers.configure")]

T = TypeVar("T")

REFUSALS: dict[type[domain.CustomerError], errors.Refusal] = {
    domain.CustomerNotFound: errors.Refusal(
        errors.NotFound, "customer_not_found", "El cliente no existe."
    ),
    domain.IdentityNotFound: errors.Refusal(
        errors.NotFound, "identity_not_found", "El cliente no tiene esa identidad."
    ),
    domain.MergeNotFound: errors.Refusal(
        errors.NotFound, "merge_not_found", "No existe esa fusión en este cliente."
    ),
    domain.InvalidField: errors.Refusal(
        errors.Invalid, "invalid_field", "Hay datos inválidos: revise los campos."
    ),
    domain.UnknownTag: errors.Refusal(
        errors.Invalid, "unknown_tag", "La etiqueta no está en el catálogo (GET /api/tags)."
    ),
    domain.NoteRequired: errors.Refusal(
        errors.Invalid, "note_required", "Falta la nota con la evidencia o el motivo."
    ),
    domain.AlreadyTagged: errors.Refusal(
        errors.Conflict, "already_tagged", "El cliente ya tiene esa etiqueta."
    ),
    domain.NotTagged: errors.Refusal(
        errors.Conflict, "not_tagged", "El cliente no tiene esa etiqueta."
    ),
    domain.TagExists: errors.Refusal(errors.Conflict, "tag_exists", "La etiqueta ya existe."),
    domain.CustomerMerged: errors.Refusal(
        errors.Conflict, "customer_merged", "El cliente fue fusionado: use el que lo absorbió."
    ),
    domain.CustomerAnonymized: errors.Refusal(
        errors.Conflict, "customer_anonymized", "El cliente fue anonimizado; no se modifica."
    ),
    domain.MergeRefused: errors.Refusal(
        errors.Conflict, "merge_refused", "No se pueden fusionar estos clientes."
    ),
    domain.UnmergeRefused: errors.Refusal(
        errors.Conflict, "unmerge_refused", "No se puede deshacer esta fusión."
    ),
    domain.CaseNotFound: errors.Refusal(
        errors.NotFound, "case_not_found", "Esa conversación no es un caso de este cliente."
    ),
    domain.CaseCancelled: errors.Refusal(
        errors.Conflict, "case_cancelled", "El caso fue cancelado: ya no admite comentarios."
    ),
    domain.CommentsAreImmutable: errors.Refusal(
        errors.MethodNotAllowed,
        "comments_are_immutable",
        "Los comentarios no se editan ni se borran: agregue uno nuevo.",
    ),
}


async def guard(call: Awaitable[T]) -> T:
    """Await a handler; a domain refusal becomes the one error shape (`REFUSALS`)."""
    try:
        return await call
    except domain.CustomerError as exc:
        metrics.REFUSALS.labels(type(exc).__name__).inc()
        error = errors.refuse(exc, REFUSALS)
        # Name the field, like a validation error, so a form can show it next to the input.
        if isinstance(exc, domain.InvalidField):
            error.details = [
                errors.ErrorDetail(
                    field=".".join(["body", exc.field]), message=exc.message, type="value_error"
                )
            ]
        elif isinstance(exc, domain.NoteRequired):
            error.details = [
                errors.ErrorDetail(field="body.note", message=str(exc), type="missing")
            ]
        elif isinstance(exc, domain.CommentsAreImmutable):
            error.headers["Allow"] = "GET, POST"
        raise error from exc


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
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")  # domain.FIELD_KEY
    label: str | None = None
    type: Literal["text", "number", "boolean", "date"] = "text"  # domain.EXTRA_FIELD_TYPES


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
        raise errors.Invalid(
            'Se esperaba un cuerpo JSON {"note": "..."}.',
            details=[{"field": "body", "message": str(exc), "type": "json_invalid"}],
        ) from exc
    return body.note


def build_router(handlers: CustomerHandlers) -> APIRouter:
    router = APIRouter(tags=["customers"], responses=errors.responses(401, 403, 404, 409, 422))

    @router.get("/api/customers", summary="Search customers by name, document, phone or email")
    async def search(
        user: Reader,
        q: Annotated[str, Query(max_length=200)] = "",
        tag: Annotated[
            str | None, Query(max_length=48, description="only customers with this tag")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        return await guard(handlers.search(q, limit, offset, tag or None))

    @router.get("/api/customers/{customer_id}", summary="A customer's profile and identities")
    async def get_customer(customer_id: str, user: Reader) -> dict[str, Any]:
        return await guard(handlers.get(customer_id))

    @router.patch("/api/customers/{customer_id}", summary="Edit a customer's profile")
    async def patch_customer(
        customer_id: str,
        user: Updater,
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
    async def suggestions(customer_id: str, user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.suggestions(customer_id))

    @router.post("/api/customers/{customer_id}/merge", summary="Absorb another customer")
    async def merge(customer_id: str, body: MergeBody, user: Merger) -> dict[str, Any]:
        return await guard(handlers.merge(customer_id, body.other_id, body.note, user))

    @router.post("/api/customers/{customer_id}/unmerge", summary="Undo a merge exactly")
    async def unmerge(customer_id: str, body: UnmergeBody, user: Merger) -> dict[str, Any]:
        return await guard(handlers.unmerge(customer_id, body.merge_id, body.note, user))

    @router.get("/api/tags", summary="The tag catalogue")
    async def tags(user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.catalogue())

    @router.post("/api/tags", status_code=201, summary="Define a new tag (admin)")
    async def create_tag(body: NewTagBody, user: Configurer) -> dict[str, Any]:
        return await guard(handlers.create_tag(body.tag, body.label, user))

    @router.post(
        "/api/customers/{customer_id}/tags", status_code=201, summary="Tag a customer (note)"
    )
    async def add_tag(customer_id: str, body: TagBody, user: Tagger) -> dict[str, Any]:
        return await guard(handlers.add_tag(customer_id, body.tag, body.note, user))

    @router.delete("/api/customers/{customer_id}/tags/{tag}", summary="Remove a tag (note)")
    async def remove_tag(
        customer_id: str, tag: str, request: Request, user: Tagger, note: str | None = None
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.remove_tag(customer_id, tag, note, user))

    @router.get("/api/customers/{customer_id}/tags/history", summary="Tag history")
    async def tag_history(customer_id: str, user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.tag_history(customer_id))

    @router.post(
        "/api/customers/{customer_id}/identities/{identity_key:path}/block",
        summary="Block an identity: its messages open no conversation",
    )
    async def block(
        customer_id: str,
        identity_key: str,
        request: Request,
        user: Blocker,
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
        user: Blocker,
        note: str | None = None,
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.set_blocked(customer_id, identity_key, False, note, user))

    @router.get("/api/customers/{customer_id}/export", summary="All data of a customer (JSON)")
    async def export(customer_id: str, user: Reader) -> dict[str, Any]:
        return await guard(handlers.export(customer_id, user))

    @router.post("/api/customers/{customer_id}/anonymize", summary="Erase personal data")
    async def anonymize(
        customer_id: str, request: Request, user: Anonymizer, note: str | None = None
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.anonymize(customer_id, user, note))

    @router.post(
        "/api/customers/{customer_id}/comments", status_code=201, summary="Comment on the case"
    )
    async def add_comment(customer_id: str, body: CommentBody, user: Commenter) -> dict[str, Any]:
        return await guard(handlers.add_comment(customer_id, body.text, user))

    @router.get(
        "/api/customers/{customer_id}/cases",
        summary="The customer's cases (conversations) with their comments",
    )
    async def cases(customer_id: str, user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.cases(customer_id))

    @router.post(
        "/api/customers/{customer_id}/cases/{case_id}/comments",
        status_code=201,
        summary="Comment on one case",
    )
    async def comment_case(
        customer_id: str, case_id: str, body: CommentBody, user: Commenter
    ) -> dict[str, Any]:
        return await guard(handlers.comment_case(customer_id, case_id, body.text, user))

    @router.post(
        "/api/customers/{customer_id}/cases/{case_id}/cancel",
        summary="Cancel a case: its comments are deleted",
    )
    async def cancel_case(
        customer_id: str, case_id: str, request: Request, user: Commenter, note: str | None = None
    ) -> dict[str, Any]:
        note = await _optional_note(request, note)
        return await guard(handlers.cancel_case(customer_id, case_id, note, user))

    @router.get("/api/customers/{customer_id}/comments", summary="Case comments, oldest first")
    async def comments(customer_id: str, user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.comments(customer_id))

    async def change_comment(customer_id: str, comment_id: str, user: Reader) -> None:
        raise errors.MethodNotAllowed(
            REFUSALS[domain.CommentsAreImmutable].message,
            code="comments_are_immutable",
        )

    for method in ("PUT", "PATCH", "DELETE"):
        router.add_api_route(
            "/api/customers/{customer_id}/comments/{comment_id}",
            change_comment,
            methods=[method],
            # Not an operation: a clear refusal where a client might try one. The document
            # lists what the resource does; its 405 then names no method (`Allow:` empty).
            include_in_schema=False,
        )

    @router.get("/api/customers/{customer_id}/audit", summary="Who did what to this customer")
    async def audit(customer_id: str, user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.audit(customer_id))

    @router.get("/api/customer-fields", summary="Admin-configured extra profile fields")
    async def fields(user: Reader) -> list[dict[str, Any]]:
        return await guard(handlers.field_definitions())

    @router.put("/api/customer-fields", summary="Configure extra profile fields (admin)")
    async def put_fields(body: FieldDefinitions, user: Configurer) -> list[dict[str, Any]]:
        return await guard(
            handlers.save_field_definitions([f.model_dump() for f in body.fields], user)
        )

    return router
