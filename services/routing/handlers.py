"""The routing service's use cases, grouped by what triggers them:

- `inbound.py`      customers writing, calling, and receipts (batched, from the bus)
- `staff.py`        staff actions from the HTTP API
- `projections.py`  customers and tickets events (from the bus)
- `reads.py`        what the HTTP API reads

`Routing` only gathers them for the wiring (`app.py`) and the HTTP router (`api.py`).
Every write goes through `timeline.Draft` and `Store.commit`: one document write per
conversation with its staged effects (see `timeline.py`).
"""

from __future__ import annotations

from services.routing.bot import Bot
from services.routing.first_response import ResponseTargets
from services.routing.holds import HoldTimers
from services.routing.inbound import Inbound
from services.routing.projections import Projections
from services.routing.quick_replies import QuickReplies
from services.routing.reads import Reads
from services.routing.satisfaction import Survey
from services.routing.staff import People, StaffActions
from services.routing.store import Store
from services.routing.timeline import derived_id, snapshot
from shared.contracts import utcnow
from shared.secrets import SecretBox

__all__ = ["Routing", "derived_id", "snapshot"]


class Routing:
    def __init__(
        self,
        store: Store,
        bot: Bot,
        holds: HoldTimers,
        box: SecretBox,
        tz: str,
        template_configured: bool = False,
        people: People | None = None,
        survey: Survey | None = None,
        targets: ResponseTargets | None = None,
    ) -> None:
        self.store = store
        self.inbound = Inbound(store, bot, box, survey, targets)
        self.staff = StaffActions(
            store, holds, box, tz, template_configured, people, survey, targets
        )
        self.projections = Projections(store)
        self.reads = Reads(store)
        self.quick_replies = QuickReplies(store)
        # The HTTP router calls these by name.
        self.escalate = self.staff.escalate
        self.assign = self.staff.assign
        self.take = self.staff.take
        self.give_back = self.staff.give_back
        self.close = self.staff.close
        self.add_note = self.staff.add_note
        self.seen = self.staff.seen
        self.reply = self.staff.reply
        self.reveal = self.staff.reveal
        self.notify_hold = self.staff.notify_hold
        self.view = self.reads.view
        self.events = self.reads.events
        self.quality = self.reads.quality
        self.customer_messages = self.reads.customer_messages
        self.refresh_gauges = self.reads.refresh_gauges
        self.on_customer_event = self.projections.on_customer_event
        self.on_ticket_event = self.projections.on_ticket_event

    async def sweep_first_responses(self) -> int:
        """Record the misses of first-response targets that are overdue now."""
        return await ResponseTargets.sweep(self.store, utcnow())
