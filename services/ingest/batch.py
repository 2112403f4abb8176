"""What a normalizer hands back: the events of one webhook and the items it had to skip."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.contracts.inbound import InboundEvent


@dataclass
class Batch:
    events: list[InboundEvent] = field(default_factory=list)
    # One reason per item that could not become an event (no id, no sender, ...). The rest
    # of the batch still goes through: one bad item never fails a whole delivery.
    skipped: list[str] = field(default_factory=list)
    # Items that are deliberately not events (echoes, other webhook fields, ...).
    ignored: int = 0
