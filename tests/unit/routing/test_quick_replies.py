"""The pure rules of quick replies: what a name is, who sees a reply, who changes it."""

from __future__ import annotations

import pytest

from services.routing.quick_replies import (
    TEAM,
    InvalidQuickReply,
    QuickReplyNotFound,
    check_may_change,
    clean_text,
    normal_name,
    visible_to,
)
from shared.auth import User
from shared.errors import Forbidden

LUIS = User("luis", "agent")
ANA = User("ana", "staff")


@pytest.mark.parametrize(
    ("typed", "name"),
    [("saludo", "saludo"), ("/Saludo", "saludo"), (" despedida_2 ", "despedida_2"),
     ("Información", "informacion"), ("año-nuevo", "ano-nuevo"), ("buen dia", "buen_dia")],
)  # fmt: skip
def test_a_name_is_what_follows_the_slash_lowercased_and_without_accents(typed: str, name: str):
    assert normal_name(typed) == name


@pytest.mark.parametrize("typed", ["", "/", "¿hola?", "a" * 41, "hola!"])
def test_a_name_that_cannot_be_typed_after_the_slash_is_refused(typed: str):
    with pytest.raises(InvalidQuickReply):
        normal_name(typed)


def test_a_blank_text_is_refused_and_a_text_is_kept_trimmed():
    with pytest.raises(InvalidQuickReply):
        clean_text("   ")
    assert clean_text("  Hola  ") == "Hola"


def test_a_personal_reply_exists_only_for_its_owner_and_the_teams_for_everyone():
    mine = {"_id": "1", "owner": LUIS.actor}
    team = {"_id": "2", "owner": TEAM}
    assert visible_to(mine, LUIS) is mine
    assert visible_to(team, LUIS) is team
    with pytest.raises(QuickReplyNotFound):
        visible_to(mine, ANA)  # not even the office sees someone's own replies
    with pytest.raises(QuickReplyNotFound):
        visible_to(mine, User("luis", "admin"))  # the same id with another role is another person
    with pytest.raises(QuickReplyNotFound):
        visible_to(None, LUIS)


def test_the_teams_replies_are_changed_by_the_office_only():
    team = {"_id": "2", "owner": TEAM}
    check_may_change(team, ANA)
    with pytest.raises(Forbidden):
        check_may_change(team, LUIS)
    check_may_change({"_id": "1", "owner": LUIS.actor}, LUIS)
