"""Staff HTTP API of the routing service: conversations, their actions and the stream.

Every route needs a bearer JWT (401 without a valid one) and names its permission in
`shared.auth.POLICY` (`conversations.read`, `.act`, `.assign`); the holder rules on top of
it are in `domain`. Domain refusals are mapped to the one error shape (`shared.errors`) in
one place, `REFUSALS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.routing import domain, first_response, live, presence, quick_replies
from services.routing.domain import Actor
from services.routing.handlers import Routing, snapshot
from services.routing.window import TemplateRequired
from shared import errors
from shared.auth import User, may
from shared.contracts import ConversationSnapshot, utcnow
from shared.mongo import Document
from shared.text import fold_words

T = TypeVar("T")

REFUSALS: dict[type[domain.DomainError], errors.Refusal] = {
    TemplateRequired: errors.Refusal(
        errors.Conflict,
        "template_required",
        "El cliente no escribió en la ventana permitida: solo se puede enviar una plantilla.",
    ),
    domain.ConversationNotFound: errors.Refusal(
        errors.NotFound, "conversation_not_found", "La conversación no existe."
    ),
    domain.MessageNotFound: errors.Refusal(
        errors.NotFound, "message_not_found", "El mensaje no existe en esta conversación."
    ),
    domain.NotHolder: errors.Refusal(
        errors.Forbidden, "not_holder", "Solo quien tiene la conversación puede hacer esto."
    ),
    domain.NotAllowed: errors.Refusal(
        errors.Forbidden, "not_allowed", "Su rol no permite esta acción en la conversación."
    ),
    domain.NoteRequired: errors.Refusal(
        errors.Invalid, "note_required", "Falta la nota: explique el motivo a quien la recibe."
    ),
    domain.UnknownPerson: errors.Refusal(
        errors.Invalid,
        "unknown_user",
        "No hay nadie con ese usuario en el directorio: elija a la persona de la lista.",
    ),
    domain.PersonDisabled: errors.Refusal(
        errors.Invalid,
        "user_disabled",
        "Esa persona está deshabilitada: elija a alguien activo.",
    ),
    domain.NotAssignable: errors.Refusal(
        errors.Invalid,
        "not_assignable",
        "Las conversaciones se asignan solo a agentes o al staff, con el rol que tienen.",
    ),
    domain.InvalidTarget: errors.Refusal(
        errors.Invalid, "invalid_target", "El destino no es válido: use agent:<id> o staff:<id>."
    ),
    domain.AlreadyTaken: errors.Refusal(
        errors.Conflict, "already_taken", "Otra persona ya tomó la conversación."
    ),
    domain.ConversationClosed: errors.Refusal(
        errors.Conflict, "conversation_closed", "La conversación está finalizada."
    ),
    domain.ReadOnlyChannel: errors.Refusal(
        errors.Conflict, "read_only_channel", "En este canal no se responde desde el sistema."
    ),
    quick_replies.QuickReplyNotFound: errors.Refusal(
        errors.NotFound, "quick_reply_not_found", "La respuesta rápida no existe."
    ),
    quick_replies.QuickReplyExists: errors.Refusal(
        errors.Conflict, "quick_reply_exists", "Ya hay una respuesta rápida con ese nombre."
    ),
    quick_replies.InvalidQuickReply: errors.Refusal(
        errors.Invalid,
        "invalid_quick_reply",
        "Nombre: letras sin espacios, números, _ o - (hasta 40); texto: hasta 4096 caracteres.",
    ),
    domain.InvalidTransition: errors.Refusal(
        errors.Conflict,
        "invalid_transition",
        "El estado de la conversación no lo permite.",
    ),
}


async def _run(call: Awaitable[T]) -> T:
    """Await a use case; a domain refusal becomes its one-shape HTTP error (`REFUSALS`)."""
    try:
        return await call
    except domain.DomainError as exc:
        raise errors.refuse(exc, REFUSALS) from exc


Reader = Annotated[User, may("conversations.read")]
Acting = Annotated[User, may("conversations.act")]
Assigning = Annotated[User, may("conversations.assign")]
Replying = Annotated[User, may("quick_replies.use")]


def _actor(user: User) -> Actor:
    return Actor(user.actor)


# --- request and response models ----------------------------------------------------------


def required_text(*names: str) -> Callable[[dict[str, Any]], None]:
    """The document says what the server enforces: these fields are required, non-blank
    text. The model itself accepts them missing so that the refusal is the domain's own
    (`note_required`, in Spanish) rather than a generic validation error."""

    def document(schema: dict[str, Any]) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})
        for name in names:
            field = schema["properties"][name]
            field.pop("anyOf", None)
            field.pop("default", None)
            field.update(type="string", pattern=r"\S")

    return document


class EscalateBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=required_text("note"))
    note: str | None = Field(None, description="Why (required); kept as an internal note")
    to: str | None = Field(
        None, description="`staff:<id>` to hand it to one person; omit for the staff queue"
    )


class AssignBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=required_text("note"))
    to: str | None = Field(
        None,
        description="`agent:<id>`, `staff:<id>` or the login name alone: an active agent "
        "or staff member of the directory (`GET /api/access/directory`)",
    )
    note: str | None = Field(None, description="Why (required); kept as an internal note")


class CloseBody(BaseModel):
    note: str | None = None


class NoteBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=required_text("text"))
    text: str | None = Field(None, description="The internal note (never sent to the customer)")
    to: Literal["lara", "agents"] | None = Field(
        None, description="Address it to Lara or the agents to let them speak again"
    )


class MessageBody(BaseModel):
    text: str = Field(min_length=1, max_length=4096)


class ConversationItem(ConversationSnapshot):
    queue: str | None = None
    last_activity_at: datetime | None = None
    unread: int = Field(0, description="Customer messages after what the caller last saw")
    first_response_state: Literal["en_plazo", "por_vencer", "vencida"] | None = Field(
        None,
        description="Open and not answered by a person yet, against the channel's "
        "first-response target (`first_response.due_at`): en_plazo, por_vencer (less than "
        "20 % of it left) or vencida; null without a target, once answered, or closed",
    )


class Page(BaseModel):
    items: list[ConversationItem]
    total: int
    page: int
    page_size: int


class MessageOut(BaseModel):
    message_id: str
    author: str
    text: str | None
    message_type: str
    at: datetime
    delivery: str | None = None
    has_secret: bool = False


class EventOut(BaseModel):
    event_id: str
    action: str
    actor: str
    note: str | None = None
    text: str | None = None
    change: str | None = None
    at: datetime


class NoteOut(BaseModel):
    author: str
    text: str
    to: str | None = None
    at: datetime


class ConversationDetail(ConversationItem):
    customer_tags: list[str]
    # Set by a note from the staff holder: Lara / the agents may speak again (the console
    # mirrors the holder rules of `domain.can_act` with them).
    lara_allowed: bool = False
    agents_allowed: bool = False
    messages: list[MessageOut]
    events: list[EventOut]
    notes: list[NoteOut]


class ActionResult(BaseModel):
    conversation: ConversationItem


class SeenResult(ActionResult):
    recorded: bool = Field(
        description="A 'seen' was recorded now (false: nothing new since the caller last saw it)"
    )


class ReplyResult(ActionResult):
    message_id: str


class Revealed(BaseModel):
    message_id: str
    text: str


def _item(doc: Document, user: User | None = None) -> ConversationItem:
    unread = 0
    if user is not None:
        marks = list(doc.get("seen_marks") or [])
        unread = domain.unread(int(doc.get("customer_messages", 0)), marks, user.actor)
    return ConversationItem(
        **snapshot(doc).model_dump(),
        last_activity_at=doc.get("last_activity_at"),
        unread=unread,
        first_response_state=first_response.state(doc, utcnow()),
    )


def _event(doc: Document) -> EventOut:
    return EventOut(
        event_id=doc["_id"],
        action=doc["action"],
        actor=doc["actor"],
        note=doc.get("note"),
        text=doc.get("text"),
        change=doc.get("change"),
        at=doc["at"],
    )


def _message(doc: Document) -> MessageOut:
    return MessageOut(
        message_id=doc["_id"],
        author=doc["author"],
        text=doc.get("text"),
        message_type=doc.get("message_type", "text"),
        at=doc["at"],
        delivery=doc.get("delivery"),
        has_secret=bool(doc.get("sealed")),
    )


_STATUS_FORMS = {
    "abierta": "abierta", "abierto": "abierta", "abiertas": "abierta", "abiertos": "abierta",
    "cerrada": "cerrada", "cerrado": "cerrada", "cerradas": "cerrada", "cerrados": "cerrada",
    "genero servicio tecnico": "genero_servicio_tecnico",
    "genero_servicio_tecnico": "genero_servicio_tecnico",
}  # fmt: skip


def _status(value: str | None) -> str | None:
    """The stored status a `status` filter names, in any case and with or without accents
    (`CERRADA`, `abierto`, `GENERÓ SERVICIO TÉCNICO`); None for omitted or `todos`; 422 for
    anything else, naming the choices."""
    if value is None:
        return None
    key = fold_words(value)
    if key in ("", "todos", "todas"):
        return None
    if key in _STATUS_FORMS:
        return _STATUS_FORMS[key]
    raise errors.Invalid(
        "Estado desconocido: use abierta, cerrada, genero_servicio_tecnico o todos.",
        code="unknown_status",
        details=[{"field": "query.status", "message": value[:64], "type": "value"}],
    )


async def _filters(
    routing: Routing,
    channel: str | None,
    status_: str | None,
    holder: str | None = None,
    identity: str | None = None,
    customer_id: str | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if channel:
        query["channel"] = channel
    if status := _status(status_):
        query["status"] = status
    if holder:
        if holder in ("lara", "agent", "staff", "queue"):
            query["holder_kind"] = holder
        else:
            query["holder"] = holder
    if identity:
        query["identity_key"] = identity
    customers = [customer_id] if customer_id else None
    if tag:
        # Tags group customers (seed 000): the conversations of the customers carrying it,
        # as routing's projection of the customers service knows them.
        tagged = await routing.store.customers_tagged(tag)
        customers = [c for c in customers if c in tagged] if customers else tagged
    if customers is not None:
        query["customer_id"] = {"$in": customers}
    return query


ChannelQ = Annotated[str | None, Query(description="whatsapp, messenger, webchat, ivr")]
StatusQ = Annotated[
    str | None,
    Query(
        alias="status",
        max_length=64,
        description="abierta, cerrada, genero_servicio_tecnico (any case/accents) or todos",
        # Empty is `todos`, as the console sends an unset filter.
        json_schema_extra={"enum": ["abierta", "cerrada", "genero_servicio_tecnico", "todos", ""]},
    ),
]
PageQ = Annotated[int, Query(ge=1, le=100_000)]
SizeQ = Annotated[int, Query(ge=1, le=200)]
TagQ = Annotated[
    str | None, Query(max_length=48, description="only conversations of customers with this tag")
]


QUICK_REPLY_NAME = r"^/?[A-Za-z0-9_ÁÉÍÓÚÜÑáéíóúüñ-][A-Za-z0-9_ ÁÉÍÓÚÜÑáéíóúüñ-]{0,39}$"


class QuickReplyBody(BaseModel):
    # Accents and case fold away and spaces become `_` (`/Salúdo` is `saludo`).
    name: str = Field(
        min_length=1,
        max_length=41,
        pattern=QUICK_REPLY_NAME,
        description="what follows `/`: saludo",
    )
    text: str = Field(min_length=1, max_length=4096)
    scope: Literal["personal", "team"] = "personal"


class QuickReplyChange(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=41, pattern=QUICK_REPLY_NAME)
    text: str | None = Field(None, min_length=1, max_length=4096)


class QuickReplyOut(BaseModel):
    id: str
    name: str
    text: str
    scope: Literal["personal", "team"]
    created_by: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None


class CustomerMessage(MessageOut):
    conversation_id: str
    channel: str | None = None


ONE = errors.responses(404)
ACTION = errors.responses(404, 409)


def build_router(routing: Routing) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["routing"], responses=errors.responses(401, 403, 422))
    base = "/conversations/{conversation_id}"

    @router.get("/conversations", response_model=Page, summary="List conversations")
    async def list_conversations(
        user: Reader,
        channel: ChannelQ = None,
        status_: StatusQ = None,
        holder: Annotated[
            str | None, Query(description="lara, agent, staff, queue, or a holder `staff:<id>`")
        ] = None,
        identity: Annotated[str | None, Query(description="`<channel>:<external_id>`")] = None,
        customer_id: str | None = None,
        tag: TagQ = None,
        page: PageQ = 1,
        page_size: SizeQ = 50,
    ) -> Page:
        query = await _filters(routing, channel, status_, holder, identity, customer_id, tag)
        docs, total = await routing.store.list_conversations(query, page, page_size)
        items = [_item(d, user) for d in docs]
        return Page(items=items, total=total, page=page, page_size=page_size)

    @router.get("/stream", response_model=Page, summary="Activity stream of the caller")
    async def stream(
        user: Reader,
        channel: ChannelQ = None,
        status_: StatusQ = None,
        tag: TagQ = None,
        page: PageQ = 1,
        page_size: SizeQ = 50,
    ) -> Page:
        """Held by me first, then by other staff, then agents, then Lara, then waiting in a
        queue, then closed; most recent activity first within each group."""
        query = await _filters(routing, channel, status_, tag=tag)
        docs, total = await routing.store.stream(user.actor, query, page, page_size)
        items = [_item(d, user) for d in docs]
        return Page(items=items, total=total, page=page, page_size=page_size)

    @router.get(
        base, response_model=ConversationDetail, summary="One conversation in full", responses=ONE
    )
    async def get_conversation(conversation_id: str, user: Reader) -> ConversationDetail:
        view = await _run(routing.view(conversation_id))
        return ConversationDetail(
            **_item(view["conversation"], user).model_dump(),
            customer_tags=view["customer_tags"],
            lara_allowed=bool(view["conversation"].get("lara_allowed")),
            agents_allowed=bool(view["conversation"].get("agents_allowed")),
            messages=[_message(m) for m in view["messages"]],
            events=[_event(e) for e in view["events"]],
            notes=[
                NoteOut(author=n["author"], text=n["text"], to=n.get("to"), at=n["at"])
                for n in view["notes"]
            ],
        )

    @router.get(
        f"{base}/events", response_model=list[EventOut], summary="The audit trail", responses=ONE
    )
    async def get_events(conversation_id: str, user: Reader) -> list[EventOut]:
        return [_event(e) for e in await _run(routing.events(conversation_id))]

    @router.get(f"{base}/quality", summary="Quality review of the chat", responses=ONE)
    async def get_quality(conversation_id: str, user: Reader) -> dict[str, Any]:
        return await _run(routing.quality(conversation_id))

    @router.post(
        f"{base}/escalate",
        response_model=ActionResult,
        summary="Escalate to staff",
        responses=ACTION,
    )
    async def escalate(conversation_id: str, body: EscalateBody, user: Acting) -> ActionResult:
        """Lara or an agent hands the conversation to the staff queue (or to `to`). 422
        without a note."""
        doc = await _run(routing.escalate(conversation_id, _actor(user), body.note, body.to))
        return ActionResult(conversation=_item(doc))

    @router.post(
        f"{base}/assign",
        response_model=ActionResult,
        summary="Assign or reassign",
        responses=ACTION,
    )
    async def assign(conversation_id: str, body: AssignBody, user: Assigning) -> ActionResult:
        """Staff hand the conversation to an active agent or staff member of the directory;
        422 without a note, or for a user unknown, disabled or neither agent nor staff."""
        doc = await _run(routing.assign(conversation_id, _actor(user), body.to, body.note))
        return ActionResult(conversation=_item(doc))

    @router.post(f"{base}/take", response_model=ActionResult, summary="Tomar", responses=ACTION)
    async def take(conversation_id: str, user: Assigning) -> ActionResult:
        """Claim a conversation no staff member holds; 409 when someone already took it."""
        doc = await _run(routing.take(conversation_id, _actor(user)))
        return ActionResult(conversation=_item(doc))

    @router.post(
        f"{base}/return", response_model=ActionResult, summary="Devolver", responses=ACTION
    )
    async def give_back(conversation_id: str, user: Acting) -> ActionResult:
        doc = await _run(routing.give_back(conversation_id, _actor(user)))
        return ActionResult(conversation=_item(doc))

    async def _close(conversation_id: str, body: CloseBody | None, user: User) -> ActionResult:
        note = body.note if body else None
        doc = await _run(routing.close(conversation_id, _actor(user), note))
        return ActionResult(conversation=_item(doc))

    @router.post(
        f"{base}/close", response_model=ActionResult, summary="Finalizar", responses=ACTION
    )
    async def close(
        conversation_id: str, user: Acting, body: CloseBody | None = None
    ) -> ActionResult:
        """Close; the customer's next message opens a new conversation held by Lara."""
        return await _close(conversation_id, body, user)

    @router.post(
        f"{base}/finish",
        response_model=ActionResult,
        summary="Finalizar (alias of close)",
        responses=ACTION,
    )
    async def finish(
        conversation_id: str, user: Acting, body: CloseBody | None = None
    ) -> ActionResult:
        return await _close(conversation_id, body, user)

    @router.post(
        f"{base}/notes", response_model=ActionResult, summary="Internal note", responses=ACTION
    )
    async def add_note(conversation_id: str, body: NoteBody, user: Acting) -> ActionResult:
        """Never sent to the customer. `to`: `lara` or `agents` lets them speak again in a
        conversation staff holds."""
        doc = await _run(routing.add_note(conversation_id, _actor(user), body.text, body.to))
        return ActionResult(conversation=_item(doc))

    @router.post(
        f"{base}/messages",
        response_model=ReplyResult,
        summary="Reply to the customer",
        responses=ACTION,
    )
    async def reply(conversation_id: str, body: MessageBody, user: Acting) -> ReplyResult:
        """Only the holder may reply (403). Staff replying in a conversation held by Lara or an
        agent takes it over. Web-chatbot and phone conversations are read-only (409)."""
        doc, message_id = await _run(routing.reply(conversation_id, _actor(user), body.text))
        return ReplyResult(conversation=_item(doc), message_id=message_id)

    @router.post(
        f"{base}/seen", response_model=SeenResult, summary="Mark as seen", responses=ACTION
    )
    async def seen(conversation_id: str, user: Acting) -> SeenResult:
        """The console calls it when a person opens the conversation. "seen" is recorded
        (trail and bus) once per new customer message; opening it again records nothing
        (`recorded: false`). Agents may mark any conversation seen: it is reading."""
        doc, recorded = await _run(routing.seen(conversation_id, _actor(user)))
        return SeenResult(conversation=_item(doc, user), recorded=recorded)

    @router.post(
        f"{base}/messages/{{message_id}}/reveal",
        response_model=Revealed,
        summary="Reveal a secret the customer typed (holder only, audited)",
        responses=ACTION,
    )
    async def reveal(conversation_id: str, message_id: str, user: Acting) -> Revealed:
        text = await _run(routing.reveal(conversation_id, message_id, _actor(user)))
        return Revealed(message_id=message_id, text=text)

    @router.get(
        "/messages",
        response_model=list[CustomerMessage],
        summary="A customer's messages across conversations, by author",
    )
    async def customer_messages(
        user: Reader,
        customer_id: Annotated[str, Query(min_length=1, max_length=100)],
        author: Annotated[
            str | None,
            Query(
                max_length=200,
                description="`me` (the caller's own replies), `customer`, or `agent:<id>`",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 200,
    ) -> list[CustomerMessage]:
        """Oldest first, the latest `limit`. The customer panel's Resumen shows them all;
        its Casos only the caller's own replies (`author=me`, seed 003)."""
        who = user.actor if author == "me" else author
        docs = await routing.customer_messages(customer_id, who, limit)
        return [
            CustomerMessage(
                **_message(d).model_dump(),
                conversation_id=d["conversation_id"],
                channel=d.get("channel"),
            )
            for d in docs
        ]

    @router.get(
        "/quick-replies",
        response_model=list[QuickReplyOut],
        summary="The team's quick replies and the caller's own",
    )
    async def list_quick_replies(user: Replying) -> list[dict[str, Any]]:
        return await routing.quick_replies.list(user)

    @router.post(
        "/quick-replies",
        status_code=201,
        response_model=QuickReplyOut,
        summary="Save a quick reply (personal; the team's: staff, admin)",
        responses=errors.responses(409),
    )
    async def create_quick_reply(body: QuickReplyBody, user: Replying) -> dict[str, Any]:
        return await _run(routing.quick_replies.create(user, body.name, body.text, body.scope))

    @router.patch(
        "/quick-replies/{reply_id}",
        response_model=QuickReplyOut,
        summary="Edit a quick reply (one's own; the team's: staff, admin)",
        responses=errors.responses(404, 409),
    )
    async def edit_quick_reply(
        reply_id: str, body: QuickReplyChange, user: Replying
    ) -> dict[str, Any]:
        return await _run(routing.quick_replies.update(user, reply_id, body.name, body.text))

    @router.delete(
        "/quick-replies/{reply_id}",
        status_code=204,
        summary="Delete a quick reply (one's own; the team's: staff, admin)",
        responses=errors.responses(404),
    )
    async def delete_quick_reply(reply_id: str, user: Replying) -> None:
        await _run(routing.quick_replies.delete(user, reply_id))

    live.add_route(router, live.LiveFeed())
    presence.add_routes(router, routing.store)
    return router
