"""How well Lara decides, on labelled customer messages: `python -m services.routing.lara_eval`.

Each labelled message is an opener or a follow-up (with the turns it follows) and the
outcome a person reviewing the chat expects: an FAQ topic, "menu" (the menu or one of its
questions, a clarification) or "persona" (handed over). Prints accuracy overall and per
outcome, the share of "persona" messages handed over (recall) and the confusion table, on
the held-out part by default (`--set development` for the part the rules were tuned on;
`--cpu` also measures Lara's CPU time per message).

In the files, a Lara turn is written symbolically so the set survives rewording of her
answers: `faq:<topic>`, `menu` (welcome and menu), `clarificacion`, `opcion:<n>`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.routing.bot import BotReply, Turn
from services.routing.lara import ANYTHING_ELSE, CLARIFICATION, MENU, MENU_TEXT, RuleBasedLara

FIXTURES = Path(__file__).parents[2] / "tests" / "fixtures" / "lara"
SETS = {"held_out": FIXTURES / "held_out.json", "development": FIXTURES / "development.json"}
PERSON = "persona"
MENU_OUTCOME = "menu"
WELCOME = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"


@dataclass(frozen=True)
class Result:
    total: int
    right: int
    per_outcome: dict[str, tuple[int, int]]  # outcome -> (right, total)
    confusion: Counter[tuple[str, str]]  # (expected, got) -> count
    misses: list[tuple[str, str, str]]  # (text, expected, got)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def person_recall(self) -> float:
        right, total = self.per_outcome.get(PERSON, (0, 0))
        return right / total if total else 0.0


def load(path: Path) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["messages"]
    return messages


def lara_turns(lara: RuleBasedLara, symbol: str) -> list[Turn]:
    if symbol.startswith("faq:"):
        answer = lara.understanding.answer(symbol[4:])
        return [Turn("lara", answer), Turn("lara", ANYTHING_ELSE)]
    if symbol == "menu":
        return [Turn("lara", m) for m in lara.greet().messages]
    if symbol == "clarificacion":
        return [Turn("lara", CLARIFICATION), Turn("lara", MENU_TEXT)]
    if symbol.startswith("opcion:"):
        option = next(o for o in MENU if o.number == symbol[7:])
        return [Turn("lara", option.prompt)]
    return [Turn("lara", symbol)]


def decide(lara: RuleBasedLara, item: dict[str, Any]) -> BotReply:
    if not item["after"]:
        return lara.open_with(item["text"])
    history: list[Turn] = []
    for turn in item["after"]:
        if turn["author"] == "lara":
            history += lara_turns(lara, turn["text"])
        else:
            history.append(Turn(turn["author"], turn["text"]))
    return lara.reply(history, item["text"])


def outcome_of(lara: RuleBasedLara, reply: BotReply) -> str:
    if reply.escalate:
        return PERSON
    for message in reply.messages:
        for entry in lara.faq:
            if message == entry.answer:
                return entry.topic
    return MENU_OUTCOME


def evaluate(items: list[dict[str, Any]], lara: RuleBasedLara | None = None) -> Result:
    lara = lara or RuleBasedLara(welcome=WELCOME)
    per: dict[str, list[int]] = {}
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for item in items:
        got = outcome_of(lara, decide(lara, item))
        expected = item["outcome"]
        counts = per.setdefault(expected, [0, 0])
        counts[0] += got == expected
        counts[1] += 1
        confusion[(expected, got)] += 1
        if got != expected:
            misses.append((item["text"], expected, got))
    right = sum(r for r, _ in per.values())
    return Result(
        total=len(items),
        right=right,
        per_outcome={k: (r, t) for k, (r, t) in sorted(per.items())},
        confusion=confusion,
        misses=misses,
    )


def report(result: Result, show_misses: bool) -> str:
    lines = [
        f"mensajes: {result.total}",
        f"acierto total: {result.right}/{result.total} = {result.accuracy:.3f}",
        f"recall de 'necesita una persona': {result.person_recall:.3f}",
        "",
        "por resultado esperado:",
    ]
    for outcome, (right, total) in result.per_outcome.items():
        lines.append(f"  {outcome:<22} {right:>3}/{total:<3} = {right / total:.3f}")
    labels = sorted({e for e, _ in result.confusion} | {g for _, g in result.confusion})
    short = {label: label[:8] for label in labels}
    lines += ["", "confusión (fila: esperado, columna: obtenido):"]
    lines.append(" " * 22 + " ".join(f"{short[g]:>8}" for g in labels))
    for expected in labels:
        row = " ".join(f"{result.confusion.get((expected, got), 0):>8}" for got in labels)
        lines.append(f"{expected:<22}{row}")
    if show_misses:
        lines += ["", "errores:"]
        lines += [f"  [{e} -> {g}] {t}" for t, e, g in result.misses]
    return "\n".join(lines)


def cpu_per_message(items: list[dict[str, Any]], rounds: int = 5) -> float:
    """CPU seconds Lara spends per labelled message (reading, context and decision),
    measured with `time.process_time` on a fresh Lara (so first reads are included)."""
    lara = RuleBasedLara(welcome=WELCOME)
    started = time.process_time()
    for _ in range(rounds):
        for item in items:
            decide(lara, item)
    return (time.process_time() - started) / (rounds * len(items))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="held_out")
    parser.add_argument("--errores", action="store_true", help="list the misclassified messages")
    parser.add_argument("--cpu", action="store_true", help="also measure CPU per message")
    args = parser.parse_args(argv)
    result = evaluate(load(SETS[args.set]))
    print(f"conjunto: {args.set}")
    print(report(result, args.errores))
    if args.cpu:
        items = load(SETS["development"]) + load(SETS["held_out"])
        print(f"\nCPU por mensaje: {cpu_per_message(items) * 1000:.3f} ms ({len(items)} mensajes)")


if __name__ == "__main__":
    main()
