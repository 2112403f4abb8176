"""Who a conversation belongs to when it opens, from routing's identities projection."""

from __future__ import annotations

from services.routing.inbound import customer_fields
from shared.contracts import ContactInfo
from shared.ids import first_customer_id

KEY = "whatsapp:+5491155550000"
CONTACT = ContactInfo(name="Pablo Nuevo")


def test_an_unknown_identity_belongs_to_its_derived_customer() -> None:
    fields = customer_fields(KEY, None, CONTACT)
    assert fields["customer_id"] == first_customer_id(KEY)
    assert fields["customer_name"] == "Pablo Nuevo"


def test_a_known_identity_belongs_to_its_projected_customer() -> None:
    ident = {"customer_id": "c-1", "name": "Nora", "document_number": "30123456"}
    assert customer_fields(KEY, ident, CONTACT)["customer_id"] == "c-1"


def test_an_identity_retired_from_its_derived_customer_names_nobody_until_customers_says() -> None:
    """The anonymized customer had the derived id: customers creates another one (and
    announces it), so the conversation must not be linked to the anonymized one meanwhile."""
    ident = {"customer_id": None, "retired_from": first_customer_id(KEY)}
    fields = customer_fields(KEY, ident, CONTACT)
    assert fields["customer_id"] is None
    assert fields["customer_name"] == "Pablo Nuevo"


def test_an_identity_retired_from_another_customer_takes_the_derived_id() -> None:
    ident = {"customer_id": None, "retired_from": "merged-survivor"}
    assert customer_fields(KEY, ident, CONTACT)["customer_id"] == first_customer_id(KEY)
