"""The tickets service's use cases, grouped by idea (as routing's are by trigger):

- `services.py`       technical services: create, confirm, cancel, read
- `consultations.py`  the portal's consultations, their answers and the gateway's reports
- `projections.py`    what tickets keeps of other services' events (conversations, sales
                      calls, anonymized customers)
- `writes.py`         the timestamp, the compare-and-set loop and the `Publisher`: load, ask
                      the domain, compare-and-set, then publish through the outbox
- `listing.py`        the list queries and pages the HTTP API uses

`Tickets` only gathers them for the wiring (`app.py`), the consumers (`subscribers.py`) and
the HTTP router (`api.py`).
"""

from __future__ import annotations

from services.tickets.consultations import Consultations
from services.tickets.listing import ListQuery, Page
from services.tickets.projections import Projections
from services.tickets.services import TechnicalServices
from services.tickets.store import TicketsStore
from services.tickets.writes import Publisher, sales_call_event_id, stamp, visible_consultation
from shared.config import Settings
from shared.outbox import Outbox
from shared.secrets import SecretBox

__all__ = ["ListQuery", "Page", "Tickets", "sales_call_event_id", "stamp", "visible_consultation"]


class Tickets:
    def __init__(self, store: TicketsStore, outbox: Outbox, settings: Settings) -> None:
        self.store = store
        self.outbox = outbox
        self.settings = settings
        self.box = SecretBox(settings.secrets_key)
        self.publisher = Publisher(store, outbox)
        self.services = TechnicalServices(store, self.publisher, settings)
        self.consultations = Consultations(store, self.publisher, self.services, settings, self.box)
        self.projections = Projections(store, self.publisher)
        # The HTTP router, the consumers and the wiring call these by name.
        self.create_service = self.services.create_service
        self.create_service_once = self.services.create_service_once
        self.confirm_service = self.services.confirm_service
        self.cancel_service = self.services.cancel_service
        self.get_service = self.services.get_service
        self.get_service_by_number = self.services.get_service_by_number
        self.list_services = self.services.list_services
        self.create_consultation = self.consultations.create_consultation
        self.answer_consultation = self.consultations.answer_consultation
        self.close_consultation = self.consultations.close_consultation
        self.convert_consultation = self.consultations.convert_consultation
        self.get_consultation = self.consultations.get_consultation
        self.list_consultations = self.consultations.list_consultations
        self.on_reply_status = self.consultations.on_reply_status
        self.on_conversation_events = self.projections.on_conversation_events
        self.on_customer_event = self.projections.on_customer_event
        self.anonymize = self.projections.anonymize
        self.republish_unstaged = self.publisher.republish_unstaged
