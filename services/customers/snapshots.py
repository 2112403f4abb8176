"""The `CustomerSnapshot` a `customer.*` event carries, built from the stored documents:
one builder for the use cases (`handlers.py`) and identification (`identification.py`)."""

from __future__ import annotations

from shared.contracts import CustomerSnapshot, Identity
from shared.mongo import Document


def snapshot(doc: Document, identities: list[Document]) -> CustomerSnapshot:
    """The customer as stored, with its identity documents (blocked ones listed by key)."""
    return CustomerSnapshot(
        customer_id=doc["_id"],
        first_name=doc.get("first_name"),
        last_name=doc.get("last_name"),
        display_name=doc.get("display_name"),
        company=doc.get("company"),
        document_number=doc.get("document_number"),
        email=doc.get("email"),
        mobile_phone=doc.get("mobile_phone"),
        home_phone=doc.get("home_phone"),
        gender=doc.get("gender"),
        tags=list(doc.get("tags") or []),
        identities=[
            Identity(channel=i["channel"], external_id=i["external_id"]) for i in identities
        ],
        blocked_identities=[i["_id"] for i in identities if i.get("blocked")],
        anonymized=bool(doc.get("anonymized")),
        status=doc.get("status", "active"),
        merged_into=doc.get("merged_into"),
        version=int(doc.get("version", 0)),
    )
