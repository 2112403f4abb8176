"""What the HTTP API asks for when it lists services or consultations, and what it gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.mongo import Document


@dataclass(frozen=True)
class Page:
    items: list[Document]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class ListQuery:
    q: str | None = None
    desde: date | None = None
    hasta: date | None = None
    estado: str | None = None
    page: int = 1
    page_size: int = 50
    # Services only: the ones generated from this conversation (the console's service panel).
    conversation_id: str | None = None
