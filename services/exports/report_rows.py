"""The reports read back from the counters of `reports.py` (pure): one function per
report, summing a range's documents. Percentiles are nearest-rank: the median of 10, 20,
30, 40 is 20; p90 of ten values is the 9th."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from typing import Any

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def percentile(values: list[int], p: int) -> int | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def days_between(desde: date, hasta: date) -> list[str]:
    return [(desde + timedelta(days=i)).isoformat() for i in range((hasta - desde).days + 1)]


def people_rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per person: counts summed, percentiles over every sample of the range."""
    counts: dict[str, Counter[str]] = {}
    samples: dict[str, dict[str, list[int]]] = {}
    for doc in docs:
        who = doc["person"]
        total = counts.setdefault(who, Counter())
        for name in ("taken", "closed", "returned", "escalated", "hold_reminders"):
            total[name] += int(doc.get(name, 0))
        mine = samples.setdefault(who, {"first_response": [], "handle": []})
        for name in mine:
            mine[name].extend(doc.get(name, []))
    rows = []
    for who in sorted(counts):
        c, s = counts[who], samples[who]
        rows.append(
            {
                "person": who,
                "taken": c["taken"],
                "closed": c["closed"],
                "returned": c["returned"],
                "escalated": c["escalated"],
                "hold_reminders": c["hold_reminders"],
                "first_response_median": percentile(s["first_response"], 50),
                "first_response_p90": percentile(s["first_response"], 90),
                "handle_median": percentile(s["handle"], 50),
                "handle_p90": percentile(s["handle"], 90),
            }
        )
    return rows


CHANNEL_FIELDS = (
    "inbound",
    "opened",
    "closed",
    "lara_resolved",
    "handovers",
    "first_response_missed",
    "csat_answers",
    "csat_points",
)


def channel_rows(docs: list[dict[str, Any]], days: list[str]) -> list[dict[str, Any]]:
    """One row per day and channel seen in the range (days without traffic: no row)."""
    totals: dict[tuple[str, str], Counter[str]] = {}
    for doc in docs:
        total = totals.setdefault((doc["day"], doc["channel"]), Counter())
        for name in CHANNEL_FIELDS:
            total[name] += int(doc.get(name, 0))
    rows: list[dict[str, Any]] = []
    for day in days:
        for channel in sorted({ch for d, ch in totals if d == day}):
            total = totals[(day, channel)]
            rows.append(
                {
                    "day": day,
                    "channel": channel,
                    **{n: total[n] for n in CHANNEL_FIELDS},
                    "csat_average": satisfaction_average(
                        total["csat_points"], total["csat_answers"]
                    ),
                }
            )
    return rows


def satisfaction_average(points: int, answers: int) -> str:
    """The mean score (1 to 5) with one decimal, written the Spanish way: `4,5`; empty when
    nobody answered."""
    return f"{points / answers:.1f}".replace(".", ",") if answers else ""


def hour_matrix(docs: list[dict[str, Any]], measure: str = "opened") -> list[list[int]]:
    """7 × 24: Monday first, hour 0 to 23, `measure` summed over the range."""
    matrix = [[0] * 24 for _ in range(7)]
    for doc in docs:
        matrix[int(doc["weekday"])][int(doc["hour"])] += int(doc.get(measure, 0))
    return matrix


Docs = list[dict[str, Any]]


def lara_rows(hour_docs: Docs, handover_docs: Docs) -> dict[str, Any]:
    """Conversations closed with no person involved, and handovers by who and why."""
    resolved = sum(int(d.get("lara_resolved", 0)) for d in hour_docs)
    closed = sum(int(d.get("closed", 0)) for d in hour_docs)
    reasons: Counter[tuple[str, str]] = Counter()
    for doc in handover_docs:
        reasons[(doc["by"], doc["reason"])] += int(doc.get("count", 0))
    rows = [
        {"by": by, "reason": reason, "count": n}
        for (by, reason), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "resolved": resolved,
        "closed": closed,
        "handovers": sum(reasons.values()),
        "rows": rows,
    }


WORK_FIELDS = (
    "services_created",
    "services_confirmed",
    "services_cancelled",
    "consultations_created",
    "consultations_answered",
    "consultations_closed",
    "consultations_converted",
)


def work_rows(docs: list[dict[str, Any]], days: list[str]) -> list[dict[str, Any]]:
    """One row per day with any service or consultation, then the whole range's total."""
    per_day: dict[str, Counter[str]] = {}
    confirm: dict[str, list[int]] = {}
    answer: dict[str, list[int]] = {}
    for doc in docs:
        day = doc["day"]
        total = per_day.setdefault(day, Counter())
        for name in WORK_FIELDS:
            total[name] += int(doc.get(name, 0))
        confirm.setdefault(day, []).extend(doc.get("confirm_seconds", []))
        answer.setdefault(day, []).extend(doc.get("answer_seconds", []))

    def row(day: str, c: Counter[str], conf: list[int], ans: list[int]) -> dict[str, Any]:
        return {
            "day": day,
            **{n: c[n] for n in WORK_FIELDS},
            "confirm_median": percentile(conf, 50),
            "answer_median": percentile(ans, 50),
        }

    rows = [row(d, per_day[d], confirm[d], answer[d]) for d in days if d in per_day]
    whole: Counter[str] = sum(per_day.values(), Counter())
    rows.append(
        row(
            "total",
            whole,
            [s for v in confirm.values() for s in v],
            [s for v in answer.values() for s in v],
        )
    )
    return rows
