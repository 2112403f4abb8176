"""The conversation lifecycle rules, without I/O."""

from __future__ import annotations

import pytest

from services.routing import domain
from services.routing.domain import Actor, Conversation
from shared.access.people import Person

ANA = Actor("staff:ana")
BETO = Actor("staff:beto")
LUIS = Actor("agent:luis")
MIA = Actor("agent:mia")
MIA_AGENT = Person("mia", "Mía", "agent", True)  # what the directory says of her


def conv(**kw: object) -> Conversation:
    return Conversation(conversation_id="c1", channel=str(kw.pop("channel", "whatsapp")), **kw)  # type: ignore[arg-type]


def test_escalate_without_a_note_is_refused():
    with pytest.raises(domain.NoteRequired, match="note is required"):
        domain.escalate(conv(), ANA, "  ")


def test_escalate_goes_to_the_staff_queue_or_to_one_staff_member():
    queued = domain.escalate(conv(holder="agent:luis"), LUIS, "no sé")
    assert queued.changes["holder"] is None and queued.changes["queue"] == "staff"
    eva = Person("eva", "Eva", "staff", True)
    direct = domain.escalate(conv(holder="agent:luis"), LUIS, "VIP", to="staff:eva", person=eva)
    assert direct.changes["holder"] == "staff:eva"
    with pytest.raises(domain.InvalidTarget):
        domain.escalate(conv(holder="agent:luis"), LUIS, "x", to="agent:mia", person=MIA_AGENT)


def test_escalating_a_conversation_staff_holds_is_refused():
    with pytest.raises(domain.InvalidTransition):
        domain.escalate(conv(holder="staff:ana"), ANA, "x")


def test_lara_escalates_to_the_agent_queue():
    decision = domain.escalate_to_agents(conv(), "pide humano")
    assert decision.changes["queue"] == "agentes"
    assert decision.actions == ("escalated",)


def test_assign_needs_staff_a_note_and_a_person():
    with pytest.raises(domain.NotAllowed):
        domain.assign(conv(), LUIS, "agent:mia", "x", MIA_AGENT)
    with pytest.raises(domain.NoteRequired):
        domain.assign(conv(), ANA, "agent:mia", None, MIA_AGENT)
    with pytest.raises(domain.InvalidTarget):
        domain.assign(conv(), ANA, "lara", "x")


def test_assign_to_a_person_already_holding_is_a_reassignment():
    assert domain.assign(conv(), ANA, "agent:mia", "x", MIA_AGENT).actions == ("assigned",)
    assert domain.assign(conv(holder="agent:luis"), ANA, "agent:mia", "x", MIA_AGENT).actions == (
        "reassigned",
    )


def test_second_take_is_refused_even_for_the_same_person():
    with pytest.raises(domain.AlreadyTaken, match="staff:beto"):
        domain.take(conv(holder="staff:beto"), ANA)
    with pytest.raises(domain.AlreadyTaken):
        domain.take(conv(holder="staff:ana"), ANA)


def test_take_claims_a_conversation_from_lara_an_agent_or_a_queue():
    for holder in ("lara", "agent:luis", None):
        assert domain.take(conv(holder=holder), ANA).changes["holder"] == "staff:ana"


def test_agents_may_not_take():
    with pytest.raises(domain.NotAllowed):
        domain.take(conv(), LUIS)


def test_give_back_returns_to_the_queue_the_holder_came_from():
    assert domain.give_back(conv(holder="agent:luis"), LUIS).changes["queue"] == "agentes"
    assert domain.give_back(conv(holder="staff:ana"), ANA).changes["queue"] == "staff"
    with pytest.raises(domain.NotHolder):
        domain.give_back(conv(holder="agent:luis"), MIA)
    with pytest.raises(domain.InvalidTransition):
        domain.give_back(conv(holder="lara"), ANA)


def test_only_the_holder_may_reply():
    assert domain.reply(conv(holder="agent:luis"), LUIS).actions == ("message_sent",)
    with pytest.raises(domain.NotHolder):
        domain.reply(conv(holder="agent:luis"), MIA)
    with pytest.raises(domain.NotHolder):
        domain.reply(conv(holder="staff:ana"), BETO)


def test_staff_reply_to_lara_or_an_agent_is_a_take_over_that_silences_them():
    for holder in ("lara", "agent:luis"):
        decision = domain.reply(conv(holder=holder, lara_allowed=True), ANA)
        assert decision.actions == ("taken", "message_sent")
        assert decision.changes["holder"] == "staff:ana"
        assert decision.changes["lara_allowed"] is False


def test_an_agent_picks_a_conversation_from_the_agent_queue_by_answering():
    decision = domain.reply(conv(holder=None, queue="agentes"), LUIS)
    assert decision.changes["holder"] == "agent:luis"


def test_web_chatbot_and_phone_conversations_are_read_only():
    for channel in ("webchat", "ivr"):
        with pytest.raises(domain.ReadOnlyChannel, match="email or phone"):
            domain.reply(conv(channel=channel, holder="staff:ana"), ANA)


def test_closed_conversation_refuses_actions():
    closed = conv(status="cerrada")
    with pytest.raises(domain.ConversationClosed):
        domain.reply(closed, ANA)
    with pytest.raises(domain.ConversationClosed):
        domain.close(closed, ANA)


def test_lara_speaks_while_she_holds_or_when_a_note_asks_her():
    assert domain.lara_may_reply(conv(holder="lara"))
    assert not domain.lara_may_reply(conv(holder="staff:ana"))
    assert domain.lara_may_reply(conv(holder="staff:ana", lara_allowed=True))
    assert not domain.lara_may_reply(conv(holder=None, queue="agentes"))
    assert not domain.lara_may_reply(conv(holder="lara", channel="ivr"))


def test_a_note_to_the_agents_lets_them_reply_while_staff_holds():
    held = conv(holder="staff:ana")
    decision = domain.add_note(held, ANA, "Luis, seguí vos", "agents")
    assert decision.changes == {"agents_allowed": True}
    allowed = conv(holder="staff:ana", agents_allowed=True)
    assert domain.reply(allowed, LUIS).actions == ("message_sent",)


def test_agents_act_only_on_what_they_hold_or_what_waits_in_their_queue():
    assert domain.can_act(LUIS, conv(holder="agent:luis"))
    assert domain.can_act(LUIS, conv(holder=None, queue="agentes"))
    assert not domain.can_act(LUIS, conv(holder=None, queue="staff"))
    assert not domain.can_act(LUIS, conv(holder="lara"))
    assert domain.can_act(ANA, conv(holder="agent:luis"))


def test_reveal_is_for_the_holder_only():
    domain.may_reveal(conv(holder="staff:ana"), ANA)
    with pytest.raises(domain.NotHolder):
        domain.may_reveal(conv(holder="staff:ana"), BETO)


def test_delivery_receipts_only_move_forward():
    assert "sent" in domain.delivery_states_before("read")
    assert "read" not in domain.delivery_states_before("delivered")
    assert "delivered" not in domain.delivery_states_before("failed")


def test_stream_rank_orders_mine_staff_agents_lara_queue_closed():
    me = "staff:ana"
    ranks = [
        domain.stream_rank("staff:ana", "abierta", me),
        domain.stream_rank("staff:beto", "abierta", me),
        domain.stream_rank("agent:luis", "abierta", me),
        domain.stream_rank("lara", "genero_servicio_tecnico", me),
        domain.stream_rank(None, "abierta", me),
        domain.stream_rank("staff:ana", "cerrada", me),
    ]
    assert ranks == [0, 1, 2, 3, 4, 5]
