"""A customer edited or deleted a WhatsApp message they had sent.

Ingest publishes both as inbound messages of their own type (`message_type` "edit" or
"revoke", `reply_to` = the provider id of the original; an edit's new text in `text`).
They are not new customer messages: no conversation opens, Lara does not answer, nothing is
counted. The original message changes where staff read it:

- deleted: its text becomes "Mensaje eliminado por el cliente" (what it said is kept in
  `revisions` for the record, not shown, and no longer revealable);
- edited: its text becomes the new one followed by "(editado)"; earlier texts are kept in
  `revisions`. An edit older than the one shown (Meta does not promise order) changes
  nothing, nor does an edit after a deletion.

Each revision is applied once (its event id is recorded in the message): a redelivery
changes nothing. A revision that changes nothing (its original unknown: never received, or
older than the platform; a redelivery; an older edit) is counted
(`cc_routing_inbound_total{kind="edit|revoke",outcome="ignored"}`) and logged.
"""

from __future__ import annotations

from typing import TypeGuard

from services.routing import metrics
from services.routing.store import Store
from shared.contracts import InboundMessage
from shared.logging import get_logger
from shared.secrets import SecretBox, contains_secret, mask_secrets

log = get_logger("routing.revisions")

REVISIONS = ("edit", "revoke")
DELETED = "Mensaje eliminado por el cliente"
EDITED = "(editado)"


def is_revision(event: object) -> TypeGuard[InboundMessage]:
    return isinstance(event, InboundMessage) and event.message_type in REVISIONS


class Revisions:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.box = box

    async def apply(self, events: list[InboundMessage]) -> None:
        """Apply each revision to the message it points at, in delivery order."""
        for msg in events:
            kind = msg.message_type
            applied = False
            if msg.reply_to:
                text, sealed = self._shown(msg)
                applied = await self.store.revise_message(
                    msg.identity.key,
                    msg.reply_to,
                    msg.event_id,
                    kind,
                    msg.occurred_at,
                    text,
                    sealed,
                )
            outcome = "applied" if applied else "ignored"
            metrics.INBOUND.labels(kind, outcome).inc()
            log.info(
                "message_revised" if applied else "revision_ignored",
                kind=kind,
                event_id=msg.event_id,
                original=msg.reply_to,
            )

    def _shown(self, msg: InboundMessage) -> tuple[str, str | None]:
        """The text staff see on the original from now on, masked, and the sealed original
        when the new text holds a secret."""
        if msg.message_type == "revoke":
            return DELETED, None
        said = msg.opened(self.box).text or ""
        masked = mask_secrets(said) if said else ""
        sealed = self.box.seal(said) if said and contains_secret(said) else None
        return f"{masked} {EDITED}".strip(), sealed
