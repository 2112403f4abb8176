"""Lara's decisions on labelled customer messages she was not tuned on.

`tests/fixtures/lara/held_out.json` was split off the labelled set before any tuning and
is frozen: its hash is checked here, so it cannot drift towards the rules.
"""

from __future__ import annotations

import hashlib
import json

from services.routing.lara import RuleBasedLara
from services.routing.lara_eval import PERSON, SETS, evaluate, load

HELD_OUT_SHA256 = "a4da3923a67ebd7dd353947ded0a9f8f5ed1ffcb2aba513dfd23f4f51abe68b3"


def test_the_held_out_set_is_frozen() -> None:
    assert hashlib.sha256(SETS["held_out"].read_bytes()).hexdigest() == HELD_OUT_SHA256


def test_the_labelled_set_is_large_and_covers_every_outcome_many_times() -> None:
    development, held_out = load(SETS["development"]), load(SETS["held_out"])
    assert len(development) + len(held_out) >= 300
    topics = {entry.topic for entry in RuleBasedLara(welcome="x").faq}
    for part in (development, held_out):
        counts: dict[str, int] = {}
        for item in part:
            counts[item["outcome"]] = counts.get(item["outcome"], 0) + 1
        assert set(counts) == topics | {"menu", PERSON}
        assert min(counts.values()) >= 5
    assert sum(1 for item in held_out if item["after"]) >= 20  # follow-ups, not only openers


def test_no_held_out_message_is_in_the_development_part() -> None:
    def key(item: dict[str, object]) -> str:
        return json.dumps([item["after"], str(item["text"]).lower()])

    development = {key(i) for i in load(SETS["development"])}
    assert not [i["text"] for i in load(SETS["held_out"]) if key(i) in development]


def test_lara_decides_right_on_held_out_messages() -> None:
    result = evaluate(load(SETS["held_out"]))
    print(f"held-out: {result.accuracy:.3f} overall, {result.person_recall:.3f} handed over")
    assert result.accuracy >= 0.85
    assert result.person_recall >= 0.9
