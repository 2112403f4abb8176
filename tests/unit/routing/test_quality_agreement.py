"""The scorer agrees with human reviewers on a labelled set of real-looking Spanish chats.

`tests/fixtures/quality/chats.json`: each chat has its lines (author, text, minute), whether
it is live, the tickets generated for it, and a reviewer's verdict per criterion. The first
chats ("desarrollo") were used to tune the vocabulary; the "validacion" ones were written
and labelled afterwards and never tuned on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.routing.quality import CRITERIA, ChatLine, score_chat

FIXTURE = Path(__file__).parents[2] / "fixtures" / "quality" / "chats.json"
START = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


def labelled_chats() -> list[dict[str, Any]]:
    chats: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["chats"]
    return chats


def agreement(chats: list[dict[str, Any]]) -> tuple[int, int, dict[str, float]]:
    agreed = total = 0
    per_criterion: dict[str, list[int]] = {name: [0, 0] for name in CRITERIA}
    for chat in chats:
        lines = [
            ChatLine(line["author"], line["text"], START + timedelta(minutes=line["minute"]))
            for line in chat["lines"]
        ]
        report = score_chat(lines, live=chat["live"], ticket_numbers=tuple(chat["ticket_numbers"]))
        verdicts = report.verdicts()
        for name, expected in chat["expected"].items():
            hit = verdicts[name] == expected
            agreed += hit
            total += 1
            per_criterion[name][0] += hit
            per_criterion[name][1] += 1
    return agreed, total, {name: a / t for name, (a, t) in per_criterion.items() if t}


def test_the_labelled_set_has_at_least_30_chats_labelled_on_every_criterion() -> None:
    chats = labelled_chats()
    assert len(chats) >= 30
    for chat in chats:
        assert set(chat["expected"]) == set(CRITERIA), chat["id"]
    assert {chat["rubro"] for chat in chats} == {"hosting", "isp", "clinica"}


def test_the_scorer_agrees_with_the_reviewers_on_at_least_90_percent_of_verdicts() -> None:
    agreed, total, per_criterion = agreement(labelled_chats())
    print(f"agreement {agreed}/{total} = {agreed / total:.3f}; per criterion {per_criterion}")
    assert agreed / total >= 0.9


def test_the_scorer_agrees_on_chats_it_was_not_tuned_on() -> None:
    held_out = [c for c in labelled_chats() if c["conjunto"] == "validacion"]
    assert len(held_out) >= 10
    agreed, total, _ = agreement(held_out)
    assert agreed / total >= 0.9


def test_no_criterion_is_right_less_than_80_percent_of_the_time() -> None:
    _, _, per_criterion = agreement(labelled_chats())
    assert min(per_criterion.values()) >= 0.8, per_criterion
