"""The conversation lifecycle: who holds a conversation, who may act, and each transition.

Pure rules, no I/O. A transition takes the conversation as loaded and returns the changes to
save plus the actions to record; the handlers save them with compare-and-set on `version`,
so a rule is always decided against the state it is applied to.

Holders: `lara` (the bot), `agent:<id>`, `staff:<id>` or `admin:<id>` (both of the staff
kind), or None (waiting in a queue: `agentes` after Lara escalates, `staff` after an agent
escalates or a holder gives it back). A person is named with the role they act in, so a
token of another role with the same user id is another person here.

Once a person holds a conversation, only they return it, finish it, or hand it back to Lara
or the agents with a note; anyone else, admins included, reassigns it with a note first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

LARA = "lara"
AGENT_QUEUE = "agentes"
STAFF_QUEUE = "staff"
OPEN = "abierta"
CLOSED = "cerrada"
SERVICE_GENERATED = "genero_servicio_tecnico"

# Channels where nobody can write to the customer live: the web chatbot hands the chat over
# read-only (answer through the customer's email or phone), and a phone call is not a chat.
READ_ONLY_CHANNELS = frozenset({"webchat", "ivr"})

HolderKind = Literal["lara", "agent", "staff", "queue"]
NoteAudience = Literal["lara", "agents"]
# Roles of the staff kind: they hold, take and assign conversations.
STAFF_KINDS = frozenset({"staff", "admin"})


# --- Refusals ----------------------------------------------------------------------------


class DomainError(Exception):
    """A rule refused the action; the message says why, in words a staff member understands."""


class ConversationNotFound(DomainError):
    pass


class MessageNotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """The caller's role or position does not let them act on this conversation."""


class NotHolder(NotAllowed):
    pass


class NoteRequired(DomainError):
    pass


class InvalidTarget(DomainError):
    pass


class UnknownPerson(InvalidTarget):
    """Nobody in the directory has that login name (a typo sends a chat to nobody)."""


class PersonDisabled(InvalidTarget):
    pass


class NotAssignable(InvalidTarget):
    """The person is not an agent or a staff member (central, admin), or not in that role."""


class AlreadyTaken(DomainError):
    pass


class ConversationClosed(DomainError):
    pass


class ReadOnlyChannel(DomainError):
    pass


class InvalidTransition(DomainError):
    pass


# --- Holders ------------------------------------------------------------------------------


def holder_kind(holder: str | None) -> HolderKind:
    if holder is None:
        return "queue"
    if holder == LARA:
        return "lara"
    kind = holder.split(":", 1)[0]
    if kind == "agent":
        return "agent"
    if kind in STAFF_KINDS:
        return "staff"
    raise ValueError(f"unknown holder {holder!r}")


def is_human(holder: str | None) -> bool:
    return holder is not None and holder_kind(holder) in ("agent", "staff")


class Someone(Protocol):
    """What the directory (shared/access) says of a person a conversation is handed to."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def active(self) -> bool: ...


ASSIGNABLE_ROLES = ("agent", "staff")
MAX_TARGET_ID = 64


def target_id(target: str | None) -> str:
    """The login name a target names: `agent:luis`, `staff:ana` or plain `luis`."""
    if not target or not target.strip():
        raise InvalidTarget("say who receives the conversation: 'agent:<id>' or 'staff:<id>'")
    ident = target.strip().rpartition(":")[2].strip().lower()
    if not ident or len(ident) > MAX_TARGET_ID:
        raise UnknownPerson(f"nobody in the directory is called {target[:80]!r}")
    return ident


def check_target(target: str | None, person: Someone | None) -> str:
    """The holder a conversation is handed to, from the directory's answer for its login
    name: an active agent or staff member, in the role they have (`agent:luis`)."""
    ident = target_id(target)
    if person is None:
        raise UnknownPerson(f"nobody in the directory is called {ident!r}")
    if not person.active:
        raise PersonDisabled(f"{ident} is disabled")
    if person.role not in ASSIGNABLE_ROLES:
        raise NotAssignable(f"{ident} is {person.role}: conversations go to agents or staff")
    assert target is not None
    kind, colon, _ = target.strip().rpartition(":")
    if colon and kind != person.role:
        raise NotAssignable(f"{ident} is {person.role}, not {kind}")
    return f"{person.role}:{person.id}"


def require_note(note: str | None, action: str) -> str:
    if note is None or not note.strip():
        raise NoteRequired(f"a note is required to {action}: explain why for whoever receives it")
    return note.strip()


# --- The conversation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts, with the role they act in: `staff:<id>`, `admin:<id>`, `agent:<id>`,
    `central:<id>`, `lara` or `system`."""

    name: str

    @property
    def kind(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def is_staff(self) -> bool:
        """Staff or admin: the roles that take, assign and take over conversations."""
        return self.kind in STAFF_KINDS

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    channel: str
    status: str = OPEN
    holder: str | None = LARA
    queue: str | None = None
    # Set by an internal note addressed to them: they may speak while staff holds it.
    lara_allowed: bool = False
    agents_allowed: bool = False
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Conversation:
        return cls(
            conversation_id=doc["_id"],
            channel=doc["channel"],
            status=doc.get("status", OPEN),
            holder=doc.get("holder"),
            queue=doc.get("queue"),
            lara_allowed=bool(doc.get("lara_allowed")),
            agents_allowed=bool(doc.get("agents_allowed")),
            version=int(doc.get("version", 0)),
        )


@dataclass(frozen=True)
class Decision:
    """What a transition changes (`changes`, saved atomically) and the actions it records,
    in order (e.g. a take-over by reply is `taken` then `message_sent`)."""

    changes: dict[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ()
    note: str | None = None


def _hold(holder: str | None, queue: str | None = None) -> dict[str, Any]:
    kind = holder_kind(holder)
    return {"holder": holder, "holder_kind": kind, "queue": queue if holder is None else None}


def _silence_others() -> dict[str, Any]:
    # Staff now holds it: Lara and agents stay silent until a note addressed to them says so.
    return {"lara_allowed": False, "agents_allowed": False}


def can_act(actor: Actor, conv: Conversation) -> bool:
    """Staff act on every conversation; an agent only on one they hold, one waiting in the
    agent queue, or one whose staff holder addressed a note to the agents."""
    if actor.is_staff:
        return True
    if actor.is_agent:
        if conv.holder == actor.name:
            return True
        if conv.holder is None and conv.queue == AGENT_QUEUE:
            return True
        return conv.agents_allowed and holder_kind(conv.holder) == "staff"
    return False


def ensure_can_act(actor: Actor, conv: Conversation) -> None:
    if not can_act(actor, conv):
        raise NotAllowed(
            f"{actor.name} may not act on this conversation: agents act only on conversations "
            "they hold or that wait in the agent queue"
        )


def _ensure_open(conv: Conversation) -> None:
    if not conv.is_open:
        raise ConversationClosed(
            "the conversation is closed; the customer's next message opens a new one"
        )


def lara_may_reply(conv: Conversation) -> bool:
    """Lara answers while she holds the conversation, or when staff holding it asked her to."""
    if not conv.is_open or conv.channel in READ_ONLY_CHANNELS:
        return False
    if conv.holder == LARA:
        return True
    return conv.lara_allowed and holder_kind(conv.holder) == "staff"


# --- Transitions --------------------------------------------------------------------------


def escalate(
    conv: Conversation,
    actor: Actor,
    note: str | None,
    to: str | None = None,
    person: Someone | None = None,
) -> Decision:
    """Lara or an agent hands the conversation to staff: to the staff queue, or to one staff
    member when `to` names one (`person`: the directory's answer for them). Staff may
    escalate any conversation not yet with staff."""
    note = require_note(note, "escalate")
    _ensure_open(conv)
    if actor.name != LARA:
        ensure_can_act(actor, conv)
    if holder_kind(conv.holder) == "staff":
        raise InvalidTransition(
            "the conversation is already held by staff; use assign to hand it over"
        )
    if conv.holder is None and conv.queue == STAFF_QUEUE and to is None:
        raise InvalidTransition("the conversation is already waiting in the staff queue")
    if to is not None:
        target = check_target(to, person)
        if holder_kind(target) != "staff":
            raise InvalidTarget(
                "an escalation goes to staff: 'staff:<id>' or no target for the queue"
            )
        return Decision({**_hold(target), **_silence_others()}, ("escalated",), note)
    return Decision(_hold(None, STAFF_QUEUE), ("escalated",), note)


def escalate_to_agents(conv: Conversation, note: str | None) -> Decision:
    """Lara gives up: the conversation waits in the agent queue with her note."""
    note = require_note(note, "escalate")
    _ensure_open(conv)
    if conv.holder != LARA:
        raise InvalidTransition("only a conversation Lara holds can be escalated by Lara")
    return Decision(_hold(None, AGENT_QUEUE), ("escalated",), note)


def assign(
    conv: Conversation,
    actor: Actor,
    to: str | None,
    note: str | None,
    person: Someone | None = None,
) -> Decision:
    """Staff hand the conversation to an active agent or staff member of the directory
    (`person`: its answer for `to`), reassigning when a person already holds it. A note is
    required and is kept as an internal note."""
    if not actor.is_staff:
        raise NotAllowed("only staff may assign conversations")
    target = check_target(to, person)
    note = require_note(note, "assign")
    _ensure_open(conv)
    if conv.holder == target:
        raise InvalidTransition(f"the conversation is already held by {target}")
    action = "reassigned" if is_human(conv.holder) else "assigned"
    changes = _hold(target)
    if holder_kind(target) == "staff":
        changes.update(_silence_others())
    return Decision(changes, (action,), note)


def take(conv: Conversation, actor: Actor) -> Decision:
    """ "Tomar": a staff member claims a conversation no staff member holds yet."""
    if not actor.is_staff:
        raise NotAllowed("only staff may take conversations")
    _ensure_open(conv)
    if holder_kind(conv.holder) == "staff":
        who = "you" if conv.holder == actor.name else conv.holder
        raise AlreadyTaken(f"the conversation is already taken by {who}")
    return Decision({**_hold(actor.name), **_silence_others()}, ("taken",))


def ensure_holder(conv: Conversation, actor: Actor, action: str) -> None:
    """Once a person holds the conversation, only they may `action` it: anyone else (admins
    included) reassigns it with a note first, so that every change of hands says why."""
    if is_human(conv.holder) and conv.holder != actor.name:
        raise NotHolder(
            f"only the holder ({conv.holder}) may {action} this conversation; "
            "anyone else reassigns it with a note first"
        )


def give_back(conv: Conversation, actor: Actor) -> Decision:
    """ "Devolver": the holder releases the conversation to the queue it belongs to (an agent
    to the agent queue, staff to the staff queue). Only the holder."""
    _ensure_open(conv)
    if not is_human(conv.holder):
        raise InvalidTransition("only a conversation held by an agent or staff can be returned")
    ensure_holder(conv, actor, "return")
    queue = AGENT_QUEUE if holder_kind(conv.holder) == "agent" else STAFF_QUEUE
    return Decision(_hold(None, queue), ("returned",))


def close(conv: Conversation, actor: Actor, note: str | None = None) -> Decision:
    """ "Finalizar": closes the conversation; the customer's next message opens a new one.
    A conversation a person holds is closed by that person only (or by the system); one
    with Lara or in a queue by staff."""
    _ensure_open(conv)
    if actor.name == "system":
        return Decision({"status": CLOSED}, ("closed",), note.strip() if note else None)
    if not (actor.is_staff or actor.is_agent):
        raise NotAllowed(f"{actor.name} may not close conversations")
    if actor.is_agent and conv.holder != actor.name:
        raise NotHolder("an agent may only close a conversation they hold")
    ensure_holder(conv, actor, "finish")
    return Decision({"status": CLOSED}, ("closed",), note.strip() if note else None)


def add_note(
    conv: Conversation, actor: Actor, text: str | None, to: NoteAudience | None = None
) -> Decision:
    """An internal note (never sent to the customer). Addressed to `lara` or `agents`, it
    lets them speak again in a conversation staff holds: that hands the conversation back,
    so only its holder may address a note to them."""
    if text is None or not text.strip():
        raise NoteRequired("the note is empty: write what the team should know")
    ensure_can_act(actor, conv)
    if to is not None and conv.holder != actor.name:
        raise NotHolder(
            f"only the holder ({conv.holder or 'nobody yet'}) may hand the conversation back "
            f"to {to} with a note"
        )
    changes: dict[str, Any] = {}
    if to == "lara":
        changes["lara_allowed"] = True
    elif to == "agents":
        changes["agents_allowed"] = True
    return Decision(changes, ("note_added",), text.strip())


def reply(conv: Conversation, actor: Actor) -> Decision:
    """A person writes to the customer. Only the holder may reply, except that staff replying
    in a conversation held by Lara, an agent or a queue takes it over, and an agent may pick
    a conversation waiting in the agent queue by answering it."""
    _ensure_open(conv)
    if conv.channel in READ_ONLY_CHANNELS:
        what = "web chatbot" if conv.channel == "webchat" else "phone call"
        raise ReadOnlyChannel(
            f"a {what} conversation is read-only: answer through the customer's email or phone"
        )
    if conv.holder == actor.name:
        return Decision({}, ("message_sent",))
    kind = holder_kind(conv.holder)
    if actor.is_staff:
        if kind == "staff":
            raise NotHolder(f"only the holder ({conv.holder}) may reply")
        return Decision({**_hold(actor.name), **_silence_others()}, ("taken", "message_sent"))
    if actor.is_agent:
        if kind == "queue" and conv.queue == AGENT_QUEUE:
            return Decision(_hold(actor.name), ("taken", "message_sent"))
        if kind == "staff" and conv.agents_allowed:
            return Decision({}, ("message_sent",))
        raise NotHolder(f"only the holder ({conv.holder or 'nobody yet'}) may reply")
    raise NotAllowed(f"{actor.name} may not reply to customers")


def see(actor: Actor, customer_messages: int, marks: list[dict[str, Any]]) -> bool:
    """Does this user opening the conversation record a "seen" (seed 002: "la última vez que
    un usuario vio una conversación")? Only when the customer wrote since this user last saw
    it: opening it again and again records nothing more (and a redelivered or repeated
    request changes nothing). Any person who may act sees, agents included: seeing is
    reading, not acting on the customer."""
    if not (actor.is_staff or actor.is_agent):
        raise NotAllowed(f"{actor.name} may not mark conversations as seen")
    return customer_messages > seen_upto(marks, actor.name)


# --- Unread counts --------------------------------------------------------------------------
# A conversation counts its customer messages (`customer_messages`) and keeps, per person,
# how many of them that person had when they last saw it (`seen_marks`). What a person has
# not read is the difference: no query per conversation, and every replica agrees.


def seen_upto(marks: list[dict[str, Any]], user: str) -> int:
    return next((int(m.get("customer_messages", 0)) for m in marks if m.get("user") == user), 0)


def unread(customer_messages: int, marks: list[dict[str, Any]], user: str) -> int:
    """Customer messages after what `user` last saw."""
    return max(0, customer_messages - seen_upto(marks, user))


def mark_seen(
    marks: list[dict[str, Any]], user: str, customer_messages: int, at: datetime
) -> list[dict[str, Any]]:
    """The marks with `user` now having seen `customer_messages` customer messages."""
    others = [m for m in marks if m.get("user") != user]
    return [*others, {"user": user, "customer_messages": customer_messages, "at": at}]


def may_reveal(conv: Conversation, actor: Actor) -> None:
    """A sealed secret is shown only to the person holding the conversation, in the role they
    hold it with (an admin token with the holder's user id is someone else), and only while
    the conversation is open: once closed, nobody holds it any more."""
    if not is_human(conv.holder) or conv.holder != actor.name:
        raise NotHolder(
            "only the holder of the conversation may reveal a secret the customer typed"
        )
    if not conv.is_open:
        raise ConversationClosed("the conversation is closed: its secrets stay sealed")


# --- Delivery receipts --------------------------------------------------------------------

DELIVERY_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4}


def delivery_states_before(state: str) -> list[str | None]:
    """The states a message may move from into `state`: receipts only move forward
    (sent < delivered < read), and `failed` applies to a message not yet delivered."""
    if state == "failed":
        return [None, "pending", "sent"]
    rank = DELIVERY_RANK[state]
    return [None, "pending", *[s for s, r in DELIVERY_RANK.items() if r < rank]]


# --- The activity stream ------------------------------------------------------------------


def stream_rank(holder: str | None, status: str, me: str) -> int:
    """Order of the activity stream: mine, other staff, agents, Lara, queue, then closed."""
    if status == CLOSED:
        return 5
    if holder == me:
        return 0
    return {"staff": 1, "agent": 2, "lara": 3, "queue": 4}[holder_kind(holder)]


def author_kind(author: str) -> str:
    """`staff:ana` and `admin:root` → `staff`; `agent:luis` → `agent`; `lara`, `customer`,
    `system` stay as they are."""
    kind = author.split(":", 1)[0]
    return "staff" if kind in STAFF_KINDS else kind
