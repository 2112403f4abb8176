"""Once a person holds a conversation, it changes hands only through them or a noted
reassignment; secrets are revealed to that person, in the role they hold it with, while it
is open (issue 14 "Who may do what", issue 16 items 14 and 16)."""

from __future__ import annotations

import pytest

from services.routing import domain
from services.routing.domain import Actor, Conversation
from shared.access.people import Person

ANA = Actor("staff:ana")
BETO = Actor("staff:beto")
ROOT = Actor("admin:root")
ANA_AS_ADMIN = Actor("admin:ana")
LUIS = Actor("agent:luis")
MIA = Actor("agent:mia")


def conv(**kw: object) -> Conversation:
    return Conversation(conversation_id="c1", channel="whatsapp", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("other", [BETO, ROOT, ANA_AS_ADMIN])
def test_only_the_holder_returns_a_taken_conversation_admins_included(other: Actor):
    taken = conv(holder="staff:ana")
    with pytest.raises(domain.NotHolder, match="reassigns it with a note"):
        domain.give_back(taken, other)
    assert domain.give_back(taken, ANA).changes["queue"] == "staff"


@pytest.mark.parametrize("other", [BETO, ROOT, MIA])
def test_only_the_holder_finishes_a_conversation_a_person_holds(other: Actor):
    for holder in ("staff:ana", "agent:luis"):
        with pytest.raises(domain.NotHolder):
            domain.close(conv(holder=holder), other)
    assert domain.close(conv(holder="staff:ana"), ANA).changes == {"status": "cerrada"}
    assert domain.close(conv(holder="agent:luis"), LUIS).changes == {"status": "cerrada"}


def test_staff_may_still_finish_what_lara_or_a_queue_holds_and_the_system_anything():
    assert domain.close(conv(holder="lara"), BETO).actions == ("closed",)
    assert domain.close(conv(holder=None, queue="staff"), ROOT).actions == ("closed",)
    assert domain.close(conv(holder="staff:ana"), Actor("system")).actions == ("closed",)


def test_anyone_else_reassigns_with_a_note_and_then_may_finish():
    taken = conv(holder="staff:ana")
    beto = Person("beto", "Beto", "staff", True)
    with pytest.raises(domain.NoteRequired):
        domain.assign(taken, ROOT, "staff:beto", None, beto)
    decision = domain.assign(taken, ROOT, "staff:beto", "Ana se fue; sigue Beto", beto)
    assert decision.actions == ("reassigned",) and decision.changes["holder"] == "staff:beto"
    assert domain.close(conv(holder="staff:beto"), BETO).actions == ("closed",)
    assert domain.close(conv(holder="admin:root"), ROOT).actions == ("closed",)


def test_a_taken_conversation_cannot_be_taken_by_another_staff_member():
    with pytest.raises(domain.AlreadyTaken):
        domain.take(conv(holder="staff:ana"), ROOT)


@pytest.mark.parametrize("to", ["lara", "agents"])
def test_only_the_holder_hands_a_held_conversation_back_to_lara_or_agents(to: str):
    held = conv(holder="staff:ana")
    for other in (BETO, ROOT, ANA_AS_ADMIN):
        with pytest.raises(domain.NotHolder, match="only the holder"):
            domain.add_note(held, other, "Lara, seguí vos", to)  # type: ignore[arg-type]
    allowed = domain.add_note(held, ANA, "seguí vos", to)  # type: ignore[arg-type]
    assert allowed.changes == {f"{to}_allowed" if to == "lara" else "agents_allowed": True}


def test_an_agent_allowed_in_may_not_re_enable_lara():
    held = conv(holder="staff:ana", agents_allowed=True)
    with pytest.raises(domain.NotHolder):
        domain.add_note(held, LUIS, "Lara, seguí vos", "lara")
    # A plain note is still fine for whoever may act on the conversation.
    assert domain.add_note(held, LUIS, "le pedí el DNI").changes == {}
    assert domain.add_note(held, BETO, "ojo, es SVIP").changes == {}


def test_reveal_only_for_the_holder_in_the_role_they_hold_it_with():
    held = conv(holder="staff:ana")
    domain.may_reveal(held, ANA)
    for other in (ANA_AS_ADMIN, ROOT, BETO, Actor("agent:ana"), Actor("central:ana")):
        with pytest.raises(domain.NotHolder):
            domain.may_reveal(held, other)


def test_reveal_refused_once_the_conversation_is_closed_even_for_the_last_holder():
    with pytest.raises(domain.ConversationClosed):
        domain.may_reveal(conv(holder="staff:ana", status="cerrada"), ANA)
    # A service generated does not close the conversation.
    domain.may_reveal(conv(holder="staff:ana", status="genero_servicio_tecnico"), ANA)


def test_reveal_refused_when_nobody_holds_it():
    with pytest.raises(domain.NotHolder):
        domain.may_reveal(conv(holder=None, queue="staff"), ANA)
    with pytest.raises(domain.NotHolder):
        domain.may_reveal(conv(holder="lara"), Actor("lara"))


def test_admins_are_of_the_staff_kind_and_named_with_their_role():
    assert domain.holder_kind("admin:root") == "staff"
    assert domain.author_kind("admin:root") == "staff"
    assert ROOT.is_staff and not Actor("central:oficina").is_staff


@pytest.mark.parametrize(
    ("target", "person", "refusal"),
    [
        ("agent:luiz_typo", None, domain.UnknownPerson),
        ("staff:" + "x" * 5000, None, domain.UnknownPerson),
        ("agent:mia", Person("mia", "Mía", "agent", False), domain.PersonDisabled),
        ("admin:root", Person("root", "Root", "admin", True), domain.NotAssignable),
        ("central:oficina", Person("oficina", "Oficina", "central", True), domain.NotAssignable),
        ("staff:mia", Person("mia", "Mía", "agent", True), domain.NotAssignable),
        ("", None, domain.InvalidTarget),
    ],
)
def test_a_conversation_goes_only_to_an_active_agent_or_staff_member_of_the_directory(
    target: str, person: Person | None, refusal: type[domain.DomainError]
):
    with pytest.raises(refusal):
        domain.assign(conv(), ANA, target, "motivo", person)


def test_the_holder_is_named_with_the_role_the_directory_gives():
    mia = Person("mia", "Mía", "agent", True)
    assert domain.assign(conv(), ANA, "mia", "x", mia).changes["holder"] == "agent:mia"
    assert domain.assign(conv(), ANA, " agent:mia ", "x", mia).changes["holder"] == "agent:mia"
