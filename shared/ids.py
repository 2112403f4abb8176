"""Identifiers every service derives the same way.

`caused_id` names an event caused by another one (a redelivery of the cause derives the
same id, so the effect is deduplicated downstream). `first_customer_id` is the customer a
brand-new identity belongs to: customers creates it under this id and routing, which sees
the same first message at the same time, can name the customer without waiting for
customers to announce it (no `customer.identified` fan-out for every first contact).
"""

from __future__ import annotations

import hashlib
import uuid

_CUSTOMERS = uuid.UUID("0b7c1d2e-5a4f-4e8b-9c3d-2f1a6b5c4d3e")


def first_customer_id(identity_key: str) -> str:
    """The id of the customer created for an identity seen for the first time."""
    return str(uuid.uuid5(_CUSTOMERS, identity_key))


def caused_id(kind: str, cause: str) -> str:
    """Deterministic event id for an event caused by another one (within 512 characters)."""
    candidate = f"{kind}:{cause}"
    if len(candidate) <= 500:
        return candidate
    return f"{kind}:sha256:{hashlib.sha256(cause.encode()).hexdigest()}"
