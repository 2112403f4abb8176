"""What customers publishes: `customer.<action>`, each with the customer as it now is."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.base import Event, Identity

CustomerAction = Literal[
    "identified",  # an inbound event was attributed to this customer (new or known)
    "updated",
    "tagged",
    "untagged",
    "merged",
    "unmerged",
    "identity_blocked",
    "identity_unblocked",
    "anonymized",
]


class CustomerSnapshot(BaseModel):
    customer_id: str
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    company: str | None = None
    document_number: str | None = None
    email: str | None = None
    mobile_phone: str | None = None
    home_phone: str | None = None
    gender: str | None = None
    tags: list[str] = Field(default_factory=list)
    identities: list[Identity] = Field(default_factory=list)
    blocked_identities: list[str] = Field(default_factory=list)  # Identity.key values
    anonymized: bool = False
    status: Literal["active", "merged"] = "active"
    merged_into: str | None = None  # set while this customer is absorbed by a merge
    version: int = 0

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) if parts else self.display_name


class CustomerEvent(Event):
    action: CustomerAction
    customer: CustomerSnapshot
    identity: Identity | None = None  # the identity concerned (identified, blocked, ...)
    cause_event_id: str | None = None  # e.g. the inbound event that identified the customer
    merged_customer_id: str | None = None  # merged/unmerged: the absorbed customer
    # merged/unmerged: the absorbed customer as it now is (identities back after an unmerge)
    merged_customer: CustomerSnapshot | None = None
    tag: str | None = None
    actor: str | None = None
    note: str | None = None

    def routing_key(self) -> str:
        return f"customer.{self.action}"
