"""How well the quality review agrees with a careful reader: `python -m bench.quality`.

Each labelled chat (`tests/fixtures/quality/`) has its lines (author, text, minute), whether
it is live, the services generated for it and a reader's verdict per criterion of seed 001:
`met`, `not_met`, `pending` (a live chat where it has not happened yet) or
`not_applicable`. Prints agreement overall and per criterion, and the confusion per verdict,
on the held-out set by default (`held_out.json`: written and labelled before any rule was
changed for it, never tuned on); `--set held_out_2` for a second round written after the
rules were tuned and measured once; `--set development` for the chats the rules were tuned on,
`--set earlier` for the previous round's held-out chats (`chats.json`, "validacion").
`--errores` lists every disagreement.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.routing.quality import CRITERIA, ChatLine, score_chat

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "quality"
START = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


def load(name: str) -> list[dict[str, Any]]:
    """The chats of one set: `held_out`, `held_out_2`, `held_out_3`, `development` or `earlier`."""
    if name in ("held_out", "held_out_2", "held_out_3"):
        chats: list[dict[str, Any]] = json.loads(
            (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
        )["chats"]
        return chats
    everything = json.loads((FIXTURES / "chats.json").read_text(encoding="utf-8"))["chats"]
    wanted = "desarrollo" if name == "development" else "validacion"
    return [chat for chat in everything if chat["conjunto"] == wanted]


@dataclass(frozen=True)
class Agreement:
    agreed: int
    total: int
    per_criterion: dict[str, tuple[int, int]]  # criterion -> (agreed, total)
    confusion: Counter[tuple[str, str]]  # (expected, got) -> count
    misses: list[tuple[str, str, str, str]]  # (chat, criterion, expected, got)

    @property
    def rate(self) -> float:
        return self.agreed / self.total if self.total else 0.0

    def rate_of(self, criterion: str) -> float:
        agreed, total = self.per_criterion[criterion]
        return agreed / total if total else 1.0


def lines_of(chat: dict[str, Any]) -> list[ChatLine]:
    return [
        ChatLine(line["author"], line["text"], START + timedelta(minutes=line["minute"]))
        for line in chat["lines"]
    ]


def agreement(chats: list[dict[str, Any]]) -> Agreement:
    per: dict[str, list[int]] = {name: [0, 0] for name in CRITERIA}
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for chat in chats:
        report = score_chat(
            lines_of(chat), live=chat["live"], ticket_numbers=tuple(chat["ticket_numbers"])
        )
        verdicts = report.verdicts()
        for name, expected in chat["expected"].items():
            got = verdicts[name]
            per[name][0] += got == expected
            per[name][1] += 1
            confusion[(expected, got)] += 1
            if got != expected:
                misses.append((chat["id"], name, expected, got))
    agreed = sum(a for a, _ in per.values())
    total = sum(t for _, t in per.values())
    return Agreement(agreed, total, {k: (a, t) for k, (a, t) in per.items()}, confusion, misses)


def report(result: Agreement, show_misses: bool) -> str:
    lines = [
        f"juicios: {result.total}",
        f"acuerdo total: {result.agreed}/{result.total} = {result.rate:.3f}",
        "",
        "por criterio:",
    ]
    for name, (agreed, total) in result.per_criterion.items():
        lines.append(f"  {name:<22} {agreed:>3}/{total:<3} = {result.rate_of(name):.3f}")
    labels = ["met", "not_met", "pending", "not_applicable"]
    lines += ["", "confusión (fila: esperado, columna: obtenido):"]
    lines.append(" " * 16 + " ".join(f"{label[:8]:>8}" for label in labels))
    for expected in labels:
        row = " ".join(f"{result.confusion.get((expected, got), 0):>8}" for got in labels)
        lines.append(f"{expected:<16}{row}")
    if show_misses:
        lines += ["", "desacuerdos:"]
        lines += [f"  {c}: {n} esperado {e}, obtenido {g}" for c, n, e, g in result.misses]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--set",
        choices=("held_out", "held_out_2", "held_out_3", "development", "earlier"),
        default="held_out",
    )
    parser.add_argument("--errores", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    chats = load(args.set)
    print(f"conjunto: {args.set} ({len(chats)} chats)")
    print(report(agreement(chats), args.errores))


if __name__ == "__main__":
    main()
