"""What staff read on a message the customer edited or deleted (routing/revisions.py)."""

from __future__ import annotations

from typing import Any

from services.routing.revisions import DELETED, Revisions, is_revision
from shared.contracts import Identity, InboundMessage
from shared.secrets import SecretBox

BOX = SecretBox("unit-test-key")
SHOWN = Revisions(store=None, box=BOX)  # type: ignore[arg-type]  # _shown needs no store


def revision(kind: str, text: str | None = None, **fields: Any) -> InboundMessage:
    return InboundMessage(
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id="+5491155550000"),
        external_message_id="wamid.R",
        message_type=kind,  # type: ignore[arg-type]
        text=text,
        reply_to="wamid.O",
        **fields,
    )


def test_edits_and_deletions_are_revisions_other_messages_are_not() -> None:
    assert is_revision(revision("edit", "hola"))
    assert is_revision(revision("revoke"))
    assert not is_revision(revision("text", "hola"))
    assert not is_revision(revision("reaction", "👍"))


def test_a_deleted_message_shows_that_it_was_deleted_and_keeps_no_seal() -> None:
    assert SHOWN._shown(revision("revoke")) == (DELETED, None)


def test_an_edit_shows_the_new_text_marked_edited() -> None:
    assert SHOWN._shown(revision("edit", "se me cortó desde anoche")) == (
        "se me cortó desde anoche (editado)",
        None,
    )


def test_a_secret_typed_in_an_edit_is_masked_and_sealed_for_the_holder() -> None:
    said = "perdón, la contraseña es: Rio2024!"
    ingest_masked = revision("edit", "perdón, la contraseña es: ••••••", sealed_text=BOX.seal(said))
    text, sealed = SHOWN._shown(ingest_masked)
    assert "Rio2024" not in text and text.endswith("(editado)")
    assert sealed is not None and BOX.open(sealed) == said
