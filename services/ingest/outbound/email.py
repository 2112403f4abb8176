"""Consultation answers by email: one SMTP submission per answer (aiosmtplib).

The message is UTF-8 (`text/plain; charset=utf-8`, quoted-printable or base64 as the
library chooses) so accents survive, and its Message-ID derives from our message id, so a
resend after a crash carries the same id and mail systems can recognise the duplicate.
SMTP replies map to outcomes: 5xx refused (bad address, rejected), 4xx and connection
failures retried.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

import aiosmtplib

from services.ingest.outbound.outcome import Accepted, Outcome, Refused, Retryable
from shared.config import Settings
from shared.contracts.delivery import ConsultationEmail


def compose(message: ConsultationEmail, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = formataddr((message.to_name or "", message.to_email))
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(idstring=message.event_id.replace("-", ""), domain=domain)
    email["X-Consultation-Id"] = message.consultation_id
    email.set_content(message.text, charset="utf-8")
    return email


class SmtpSender:
    """Submits to SMTP_HOST:SMTP_PORT, with STARTTLS, implicit TLS or neither (SMTP_TLS)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: ConsultationEmail) -> Outcome:
        s = self.settings
        email = compose(message, s.smtp_from)
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            # RFC 5321: a 4yz reply is transient (greylisting, 450 mailbox busy): try again
            # later; only a 5yz refusal of the recipient is permanent.
            if all(400 <= r.code < 500 for r in exc.recipients):
                return Retryable("smtp_busy", detail, str(exc.recipients[0].code))
            return Refused("invalid_recipient", detail, "smtp_recipient")
        except aiosmtplib.SMTPResponseException as exc:
            detail = f"SMTP {exc.code} {exc.message}"
            if 500 <= exc.code < 600:
                return Refused("rejected", detail, str(exc.code))
            return Retryable("smtp_busy", detail, str(exc.code))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Retryable("unreachable", f"{type(exc).__name__}: {exc}")
        return Accepted(str(email["Message-ID"]))
