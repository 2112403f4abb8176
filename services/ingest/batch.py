"""What a normalizer hands back: the events of one webhook and the items it had to skip."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic_core import PydanticSerializationError

from shared.contracts.inbound import InboundEvent


@dataclass
class Batch:
    events: list[InboundEvent] = field(default_factory=list)
    # One reason per item that could not become an event (no id, no sender, ...). The rest
    # of the batch still goes through: one bad item never fails a whole delivery.
    skipped: list[str] = field(default_factory=list)
    # Items that are deliberately not events (echoes, other webhook fields, ...).
    ignored: int = 0
    # Errors the provider reports inside the webhook (WhatsApp's `value.errors`, a message's
    # own `errors`): {code, title, message, where}; counted and logged, never dropped silently.
    provider_errors: list[dict[str, str]] = field(default_factory=list)

    def add(self, event: InboundEvent, item: str) -> None:
        """Keep the event if it can be published; else skip it, naming the item.

        An event that cannot be encoded (a lone surrogate such as `"\\ud800"` is valid JSON
        but not UTF-8) would fail at publish time, and the webhook would answer 503 and be
        retried forever with the valid items after it never published. Checked here, it is
        skipped like any malformed item and the rest of the batch goes through.
        """
        try:
            event.model_dump_json()
        except (PydanticSerializationError, UnicodeError, ValueError) as exc:
            self.skipped.append(f"{item}: not encodable ({type(exc).__name__})")
            return
        self.events.append(event)
