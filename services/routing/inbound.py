"""Inbound use cases: a batch of what customers sent (messages, calls, receipts), applied in
delivery order per customer and committed with one bulk write per collection.

Load (three queries for the whole batch: stored messages, open conversations, the customers
projection; a fourth, when a channel asks for satisfaction, for the recent closes of the
customers with no open conversation) → decide in memory, one `Draft` per conversation (Lara
answers while she may; a score after the satisfaction question answers it on the closed
conversation, `satisfaction.py`) → one commit. A conversation that changed meanwhile (a
staff action won the compare-and-set) is loaded and decided again. A redelivered message is
recognized by its stored message, or by the conversation still holding it among its staged
effects (then those are carried out).
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing import domain, metrics
from services.routing.bot import Bot, BotReply
from services.routing.first_response import ResponseTargets
from services.routing.revisions import Revisions, is_revision
from services.routing.satisfaction import Survey, latest_closed, score_of
from services.routing.store import Store
from services.routing.timeline import Draft, derived_id, new_conversation
from shared.contracts import CallEvent, ContactInfo, DeliveryStatus, InboundMessage, utcnow
from shared.contracts.inbound import PERSON_MOTIVE, InboundEvent
from shared.ids import first_customer_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import OUTBOX_FIELD, PENDING_FIELD, staged_inserts, unpack
from shared.secrets import SecretBox, contains_secret, mask_secrets

log = get_logger("routing.inbound")

# A batch whose conversations keep changing under it gives up after this many rounds (the
# whole batch is then retried by the broker).
COMMIT_ROUNDS = 20

# The IVR phone bot, as the author of what it said to the caller.
IVR_BOT = "system:ivr"
PERSON_REQUEST_NOTE = "Pidió hablar con una persona en el menú telefónico: hay que llamarlo."


def inbound_text(msg: InboundMessage) -> str | None:
    """What the customer said, in words: text, else a caption, payload or location name."""
    if msg.text:
        return msg.text
    for attachment in msg.attachments:
        if attachment.caption:
            return attachment.caption
    if msg.payload:
        return msg.payload
    if msg.location is not None:
        return msg.location.name or msg.location.address
    return None


def customer_fields(identity_key: str, ident: Document | None, contact: ContactInfo) -> Document:
    """Who the customer is: the customers projection when it knows the identity, else what
    the channel told, under the id customers gives a customer it sees for the first time.
    An identity retired by an anonymization names nobody until customers says who: when
    the derived id is the anonymized customer's, customers creates another one and
    announces it (`customer.identified` then carries it onto the conversation)."""
    if ident is not None and ident.get("customer_id") is None:
        derived = first_customer_id(identity_key)
        return {
            "customer_id": None if derived == ident.get("retired_from") else derived,
            "customer_name": contact.name,
            "document_number": contact.document_number,
        }
    if ident is not None:
        return {
            "customer_id": ident.get("customer_id"),
            "customer_name": ident.get("name") or contact.name,
            "document_number": ident.get("document_number") or contact.document_number,
        }
    return {
        "customer_id": first_customer_id(identity_key),
        "customer_name": contact.name,
        "document_number": contact.document_number,
    }


class Inbound:
    def __init__(
        self,
        store: Store,
        bot: Bot,
        box: SecretBox,
        survey: Survey | None = None,
        targets: ResponseTargets | None = None,
    ) -> None:
        self.store = store
        self.bot = bot
        self.box = box
        self.survey = survey or Survey.off()
        self.targets = targets or ResponseTargets()

    # --- the batch ----------------------------------------------------------------------

    async def handle_one(self, event: InboundEvent) -> None:
        await self.handle([event])

    async def handle(self, events: list[InboundEvent]) -> None:
        """Apply a batch (delivery order kept per customer); returns once it is committed
        and its events are confirmed by the broker."""
        statuses = [e for e in events if isinstance(e, DeliveryStatus)]
        chats = [e for e in events if not isinstance(e, DeliveryStatus) and not is_revision(e)]
        if chats:
            await self._apply(chats)
        if revised := [e for e in events if is_revision(e)]:  # edits, deletions: revisions.py
            await Revisions(self.store, self.box).apply(revised)
        if statuses:
            await self._receipts(statuses)

    async def _apply(self, events: list[InboundMessage | CallEvent]) -> None:
        unique: dict[str, InboundMessage | CallEvent] = {}
        for event in events:
            unique.setdefault(event.event_id, event)
        stored = await self.store.existing_messages(list(unique))
        todo = [e for e in unique.values() if e.event_id not in stored]
        for event in unique.values():
            if event.event_id in stored:
                metrics.INBOUND.labels(event.kind, "duplicate").inc()
        for _ in range(COMMIT_ROUNDS):
            if not todo:
                return
            drafts = await self._decide(todo)
            lost = await self.store.commit(drafts, flush=False)
            written = [d for d in drafts if d not in lost]
            # Counted once written: a failure to carry out the effects below is redelivered
            # and recognized (the staged effects), not applied and counted again.
            for draft in written:
                draft.written()
            await self.store.flush(written)
            if not lost:
                return
            lost_ids = {d.id for d in lost}
            todo = [e for e in todo if self._target(e, drafts) in lost_ids]
        raise RuntimeError("conversations kept changing while the batch was applied")

    @staticmethod
    def _target(event: InboundMessage | CallEvent, drafts: list[Draft]) -> str | None:
        for draft in drafts:
            if event.event_id in draft.causes:
                return draft.id
        return None

    async def _decide(self, events: list[InboundMessage | CallEvent]) -> list[Draft]:
        keys = sorted({e.identity.key for e in events})
        idents = await self.store.identities_of(keys)
        open_docs = await self.store.open_conversations(keys)
        call_ids = sorted({call_conversation_id(e) for e in events if isinstance(e, CallEvent)})
        calls = await self.store.get_many(call_ids)
        asked = await self._asked(events, open_docs)
        staged = await self._finish_staged([*open_docs.values(), *calls.values(), *asked.values()])
        drafts: dict[str, Draft] = {}
        blocked: list[Document] = []
        for event in events:
            if event.event_id in staged:
                metrics.INBOUND.labels(event.kind, "duplicate").inc()
                continue
            ident = idents.get(event.identity.key)
            if isinstance(event, CallEvent):
                self._on_call(event, drafts, calls, ident)
                continue
            if ident is not None and ident.get("blocked"):
                blocked.append(self._blocked(event))
                continue
            if event.identity.key not in open_docs and self._answers_survey(
                event, drafts, asked.get(event.identity.key)
            ):
                continue
            self._on_message(event, drafts, open_docs, ident)
        await self.store.record_blocked(blocked)
        return list(drafts.values())

    async def _asked(
        self, events: list[InboundMessage | CallEvent], open_docs: dict[str, Document]
    ) -> dict[str, Document]:
        """Per customer writing with no open conversation, their latest conversation closed
        within the satisfaction window (one query; none when no channel asks)."""
        if not self.survey.enabled:
            return {}
        keys = sorted(
            {
                e.identity.key
                for e in events
                if isinstance(e, InboundMessage)
                and e.channel in self.survey.channels
                and e.identity.key not in open_docs
            }
        )
        closed = await self.store.closed_since(keys, utcnow() - self.survey.window)
        return latest_closed(closed)

    def _answers_survey(
        self, msg: InboundMessage, drafts: dict[str, Draft], doc: Document | None
    ) -> bool:
        """The customer's next message after the satisfaction question, when it reads as a
        score, answers it: stored on the closed conversation, nothing opened. False (the
        message goes its usual way) for anything else."""
        if doc is None or msg.identity.key in drafts:
            return False
        draft = drafts.get(doc["_id"]) or Draft.of(doc)
        now = utcnow()
        if not self.survey.awaiting(draft.doc, now):
            return False
        msg = msg.opened(self.box)
        original = inbound_text(msg)
        score = score_of(original)
        if score is None:
            return False
        drafts[draft.id] = draft
        draft.causes.add(msg.event_id)
        masked, sealed = self._said(original)
        self.survey.answer(draft, msg, masked, sealed, score, now)
        metrics.INBOUND.labels("message", "satisfaction").inc()
        return True

    async def _finish_staged(self, docs: list[Document]) -> set[str]:
        """Conversations that still hold effects staged before a crash: carry them out now,
        and report which inbound ids they had applied (so they are not applied twice)."""
        staged = [d for d in docs if d.get(PENDING_FIELD) is not None]
        applied: set[str] = set()
        for doc in staged:
            entries = unpack(doc.get(OUTBOX_FIELD))
            applied |= {m["_id"] for m in staged_inserts(entries).get("messages", [])}
            # Effects this process carried out stay until the next commit replaces them.
            if not self.store.effects.carried_out(doc["_id"], doc.get("version")):
                await self.store.effects.flush({doc["_id"]: (doc, entries)})
        return applied

    # --- messages -----------------------------------------------------------------------

    def _blocked(self, msg: InboundMessage) -> Document:
        metrics.INBOUND.labels("message", "blocked").inc()
        return {
            "_id": msg.event_id,
            "identity_key": msg.identity.key,
            "channel": msg.channel,
            "text": mask_secrets(inbound_text(msg)),
            "message_type": msg.message_type,
            "at": msg.occurred_at,
        }

    def _said(self, text: str | None) -> tuple[str | None, str | None]:
        """(masked text to store and show, sealed original when it held a secret)."""
        if not text:
            return text, None
        return mask_secrets(text), self.box.seal(text) if contains_secret(text) else None

    def _on_message(
        self,
        msg: InboundMessage,
        drafts: dict[str, Draft],
        open_docs: dict[str, Document],
        ident: Document | None,
    ) -> None:
        key = msg.identity.key
        draft = drafts.get(key)
        if draft is None:
            doc = open_docs.get(key)
            if doc is not None:
                draft = Draft.of(doc)
            else:
                conversation_id = derived_id(msg.event_id, "conversation")
                draft = Draft.opening(
                    new_conversation(
                        conversation_id, msg.channel, msg.identity, msg.event_id, utcnow()
                    )
                )
                draft.record("opened", "customer", event_id=derived_id(msg.event_id, "opened"))
                metrics.CONVERSATIONS_OPENED.labels(msg.channel).inc()
            drafts[key] = draft
        draft.causes.add(msg.event_id)
        # Ingest seals what the customer typed; routing works on the original (Lara reads it)
        # and stores it masked with the original sealed for the holder's audited reveal.
        msg = msg.opened(self.box)
        opened = draft.base_version is None and draft.doc.get("opened_by") == msg.event_id
        fill = {
            k: v
            for k, v in customer_fields(key, ident, msg.contact).items()
            if v is not None and draft.doc.get(k) is None
        }
        draft.set(**fill)
        if opened:
            self._import_transcript(draft, msg)
        original = inbound_text(msg)
        masked, sealed = self._said(original)
        history = draft.bot_memory(self.box.open)
        draft.append_message(
            msg.event_id,
            "customer",
            masked,
            direction="inbound",
            at=msg.occurred_at.astimezone(UTC),
            message_type=msg.message_type,
            sealed=sealed,
            extra={
                "external_message_id": msg.external_message_id,
                "attachments": [a.model_dump() for a in msg.attachments],
            },
        )
        # Chat traffic is in the messages themselves: the audit trail keeps actions only.
        draft.record("message_received", "customer", text=masked, audit=False)
        # A removed reaction arrives without text: nothing was said, nothing to answer.
        silent = msg.message_type == "reaction" and not original
        if domain.lara_may_reply(draft.conversation) and not silent:
            answer = (
                self.bot.open_with(original or "")
                if opened
                else self.bot.reply(history, original or "")
            )
            lara_answers(draft, msg.event_id, answer, self.targets)
        metrics.INBOUND.labels("message", "opened" if opened else "appended").inc()

    def _import_transcript(self, draft: Draft, msg: InboundMessage) -> None:
        """What the customer and the web chatbot said before the hand-over, in order, as the
        conversation's first messages (ids derived from the message: a redelivery adds
        nothing)."""
        for i, line in enumerate(msg.transcript):
            masked, sealed = self._said(line.text)
            author = "customer" if line.author == "customer" else "system:webchat-bot"
            draft.append_message(
                derived_id(msg.event_id, "transcript", str(i)),
                author,
                masked,
                direction="inbound" if line.author == "customer" else "outbound",
                sealed=sealed,
                extra={"transcript": True, "delivery": None},
            )

    # --- calls --------------------------------------------------------------------------

    def _on_call(
        self,
        call: CallEvent,
        drafts: dict[str, Draft],
        calls: dict[str, Document],
        ident: Document | None,
    ) -> None:
        """An IVR step: one conversation per call, carrying the call's facts; Lara does not
        chat on calls. A caller's steps are applied in the order they were published."""
        conversation_id = call_conversation_id(call)
        draft = drafts.get(conversation_id)
        if draft is None:
            doc = calls.get(conversation_id)
            if doc is not None:
                draft = Draft.of(doc)
            else:
                base = new_conversation(
                    conversation_id, "ivr", call.identity, call.event_id, utcnow()
                )
                base.pop("open_identity")  # a caller may be on several calls
                base["call"] = {
                    "call_sid": call.call_sid,
                    "caller_number": call.identity.external_id,
                }
                draft = Draft.opening(base)
                draft.record("opened", "customer", event_id=derived_id(call.event_id, "opened"))
                metrics.CONVERSATIONS_OPENED.labels("ivr").inc()
            drafts[conversation_id] = draft
        draft.causes.add(call.event_id)
        fill = {
            k: v
            for k, v in customer_fields(call.identity.key, ident, call.contact).items()
            if v is not None and draft.doc.get(k) is None
        }
        draft.set(**fill)
        facts = {
            "motive": call.motive,
            "city": call.city,
            "call_status": call.call_status,
            "caller_number": call.contact.phone or call.identity.external_id,
        }
        info = dict(draft.doc.get("call") or {})
        info.update({k: v for k, v in facts.items() if v is not None})
        draft.set(call=info, last_activity_at=utcnow())
        call = call.opened(self.box)
        said = call.speech or call.digits
        if said:
            masked, sealed = self._said(said)
            draft.append_message(
                call.event_id,
                "customer",
                masked,
                direction="inbound",
                at=call.occurred_at.astimezone(UTC),
                sealed=sealed,
            )
        if call.prompt:
            # What the IVR answered, right after what the caller said: staff read the call
            # as the caller heard it. Read-only channel: stored, never sent.
            draft.append_message(
                derived_id(call.event_id, "prompt"),
                IVR_BOT,
                call.prompt,
                direction="outbound",
                extra={"delivery": None},
            )
        draft.record(
            "call_updated",
            "customer",
            event_id=derived_id(call.event_id, "call_updated"),
            note=call.step,
        )
        if call.motive == PERSON_MOTIVE:
            _caller_asks_for_a_person(draft, call)
        metrics.INBOUND.labels("call", "opened" if draft.base_version is None else "updated").inc()

    # --- receipts -----------------------------------------------------------------------

    async def _receipts(self, statuses: list[DeliveryStatus]) -> None:
        """Move the delivery state of our outbound messages forward (one bulk write). The
        gateway's own reports (`message_id` set) also keep the provider's id, so later
        status webhooks find the message; a failure is told to staff on the conversation."""
        ours = [s for s in statuses if s.message_id]
        failed = await self.store.record_send_outcomes(
            [(s.message_id, s.status, s.external_message_id, s.reason, s.error_code) for s in ours]
        )
        for message, reason in failed:
            await self._delivery_failed(message, reason)
        statuses = [s for s in statuses if not s.message_id]
        changed = await self.store.set_deliveries(
            [
                (
                    s.external_message_id,
                    s.identity.key,
                    datetime.fromtimestamp(s.watermark / 1000, UTC) if s.watermark else None,
                    s.status,
                    domain.delivery_states_before(s.status),
                    _failure_reason(s),
                )
                for s in statuses
                if s.external_message_id or s.watermark is not None
            ]
        )
        metrics.INBOUND.labels("status", "applied" if changed else "ignored").inc(len(statuses))

    async def _delivery_failed(self, message: Document, reason: str | None) -> None:
        """Staff see that a reply did not reach the customer, with the provider's reason
        (a deterministic id: a redelivered report records it once)."""

        def record(draft: Draft) -> bool:
            draft.record(
                "delivery_failed",
                "system",
                event_id=derived_id(message["_id"], "delivery_failed"),
                note=reason,
                text=message.get("text"),
            )
            return True

        docs = await self.store.get_many([message["conversation_id"]])
        await self.store.change(list(docs.values()), record, rounds=COMMIT_ROUNDS)


def _failure_reason(status: DeliveryStatus) -> str | None:
    if status.status != "failed" or not status.errors:
        return None
    first = status.errors[0]
    return str(first.get("title") or first.get("message") or first.get("code") or "failed")


def call_conversation_id(call: CallEvent) -> str:
    return derived_id("call", call.call_sid)


def _caller_asks_for_a_person(draft: Draft, call: CallEvent) -> None:
    """The IVR promised the caller that a person will call back: the call waits in the
    agents' queue with a note saying so. Once (ids derived from the step; a call already
    out of the bot's hands, e.g. taken by staff, stays where it is)."""
    try:
        decision = domain.escalate_to_agents(draft.conversation, PERSON_REQUEST_NOTE)
    except domain.DomainError as exc:
        log.info("ivr_escalation_skipped", reason=str(exc))
        return
    draft.apply(decision)
    metrics.ESCALATIONS.labels("ivr").inc()
    note = decision.note or PERSON_REQUEST_NOTE
    draft.add_note(IVR_BOT, note, None, derived_id(call.event_id, "note"))
    draft.record("escalated", IVR_BOT, event_id=derived_id(call.event_id, "escalated"), note=note)


def lara_answers(
    draft: Draft, cause: str, answer: BotReply, targets: ResponseTargets | None = None
) -> None:
    """Lara's turn: her messages (one reply, sent to the customer) and, when she gives up,
    the escalation with her note for the agents (the first-response clock starts)."""
    if answer.messages:
        text = "\n\n".join(m for m in answer.messages if m)
        message_id = derived_id(cause, "lara", "0")
        draft.append_message(message_id, domain.LARA, text, direction="outbound")
        draft.send(message_id, domain.LARA, text)
        draft.record("message_sent", domain.LARA, text=text, audit=False)
    if answer.escalate:
        # Her note quotes what the customer wrote: masked like everything staff read.
        note = mask_secrets(answer.escalation_note) or "Lara no pudo resolver la consulta"
        try:
            decision = domain.escalate_to_agents(draft.conversation, note)
        except domain.DomainError as exc:
            log.info("lara_escalation_skipped", reason=str(exc))
            return
        draft.apply(decision)
        if targets is not None:
            targets.reached_people(draft, utcnow())
        metrics.ESCALATIONS.labels("lara").inc()
        draft.add_note(domain.LARA, decision.note or note, None, derived_id(cause, "note"))
        draft.record(
            "escalated", domain.LARA, event_id=derived_id(cause, "escalated"), note=decision.note
        )
