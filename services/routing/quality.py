"""Quality review of a chat against the contact structure (pure).

Interface used by routing's API (`GET /api/conversations/{id}/quality`); the scoring rules
are implemented by the Lara/quality work (issue 9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Author = Literal["customer", "lara", "agent", "staff", "system"]
Verdict = Literal["met", "not_met", "not_applicable"]


@dataclass(frozen=True)
class ChatLine:
    author: Author
    text: str
    at: datetime


@dataclass(frozen=True)
class Criterion:
    name: str
    verdict: Verdict
    evidence: list[int] = field(default_factory=list)  # indexes into the scored lines
    detail: str | None = None


@dataclass(frozen=True)
class QualityReport:
    criteria: list[Criterion]
    score: float  # points earned / points applicable, 0..1
    satisfaction: int  # customer's expressions of gratitude

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "satisfaction": self.satisfaction,
            "criteria": [
                {"name": c.name, "verdict": c.verdict, "evidence": c.evidence, "detail": c.detail}
                for c in self.criteria
            ],
        }


def score_chat(
    lines: list[ChatLine], *, live: bool, ticket_numbers: tuple[str, ...] = ()
) -> QualityReport:
    """Score `lines` (oldest first). `live`: the chat is still open (no farewell expected)."""
    return QualityReport(criteria=[], score=0.0, satisfaction=0)
