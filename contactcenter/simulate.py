"""`contactcenter simulate`: realistic traffic from the four channels against a running platform.

For a newcomer (or a demo) to see the platform work end to end over HTTP, exactly as the
channels call it: signed WhatsApp and Messenger webhooks (X-Hub-Signature-256), web chat
messages with the widget's bearer token, and IVR calls as Twilio form posts signed with
X-Twilio-Signature. Customers write in Spanish and come back several times; some
conversations are escalated by an agent (with a note) and some produce a technical-service
ticket, through the staff API. A progress bar runs on stderr and a summary closes the run.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.auth import issue_token
from shared.config import Settings

CHANNELS = ("whatsapp", "messenger", "webchat", "ivr")
WHATSAPP_LINE = "106540352242922"
MESSENGER_PAGE = "1067280970047460"

FIRST_NAMES = (
    "María", "José", "Lucía", "Martín", "Sofía", "Juan", "Valentina", "Diego", "Camila",
    "Matías", "Florencia", "Nicolás", "Agustina", "Santiago", "Julieta", "Tomás",
)  # fmt: skip
LAST_NAMES = (
    "González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez",
    "Romero", "Sánchez", "Álvarez", "Torres", "Ruiz", "Ramírez", "Acuña", "Muñoz",
)  # fmt: skip
OPENINGS = (
    "Hola, buenas tardes. No tengo internet desde ayer a la noche.",
    "Buen día, quería consultar por qué me llegó la factura más cara este mes.",
    "Hola! Se me corta la conexión cada diez minutos, ¿pueden revisar?",
    "Buenas, quiero contratar el plan de 300 megas para mi casa.",
    "Hola, el router tiene la luz roja prendida y no navega nada.",
    "Necesito cambiar el titular del servicio, ¿qué documentación piden?",
    "Buenas noches, ¿tienen cobertura en Villa Crespo?",
)
FOLLOW_UPS = (
    "Ya reinicié el módem y sigue igual.",
    "Mi número de documento es 30.123.456.",
    "¿Cuánto tardan en mandar un técnico?",
    "Gracias, quedo a la espera.",
    "¿Me pueden llamar al celular?",
    "Sigue sin funcionar, esto es urgente porque trabajo desde casa.",
    "Perfecto, muchas gracias por la ayuda.",
)
ESCALATION_NOTES = (
    "Cliente con corte reiterado, necesita revisión de la oficina.",
    "Pide hablar con un supervisor por la factura.",
    "Posible falla en el nodo de la zona; lo derivo a staff.",
)
TICKET_REASONS = ("Sin conexión", "Cambio de equipo", "Revisión de instalación", "Corte reiterado")
IVR_DIGITS = ("1", "1", "2", "3", "4", "0")
# The IVR's second-level menus by first-level key (services/ingest/ivr.py), as a caller
# meets them: the action URL of the answer names them.
IVR_SUBMENUS = {"1": "soporte", "2": "consulta", "3": "ventas", "4": "facturacion"}
CITIES = ("BUENOS AIRES", "CORDOBA", "ROSARIO", "MENDOZA", "LA PLATA", "")


@dataclass
class Customer:
    channel: str
    external_id: str
    name: str
    messages: int = 0
    assigned: bool = False
    escalated: bool = False
    ticket: bool = False

    @property
    def identity(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    tickets: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # "<channel> <status> <error code>" for every refused channel request, and the same for
    # the staff API ("staff <status> <code>"), so a failed run can say what to check.
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        return sum(n for key, n in self.statuses.items() if key.startswith("2"))

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def error_code(response: httpx.Response) -> str:
    """The platform's machine error code (`{"error": {"code"}}`), or `-` if there is none."""
    try:
        error = response.json().get("error")
    except ValueError:
        return "-"
    return str(error.get("code", "-")) if isinstance(error, dict) else "-"


# What each channel signs with: a 401 there means this shell's value differs from the
# platform's.
CHANNEL_SECRETS = {
    "whatsapp": "WHATSAPP_APP_SECRET",
    "messenger": "MESSENGER_APP_SECRET",
    "webchat": "WEBCHAT_TOKEN",
    "ivr": "IVR_AUTH_TOKEN (and IVR_PUBLIC_BASE_URL if the platform is behind a proxy)",
}
SAME_SETTINGS = (
    "run `contactcenter simulate` from the directory where `make up` wrote .env (it reads "
    "that file), or export the same value the platform runs with"
)


def explain_refusals(tally: Tally, base_url: str) -> list[str]:
    """One line per kind of refusal: which status came back, how often, and what to check."""
    lines = []
    for key, count in tally.refusals.most_common():
        who, status, code = key.split(" ", 2)
        seen = f"{who}: {count} × HTTP {status}" + (f" ({code})" if code != "-" else "")
        if who == "staff" and status == "401":
            hint = f"the platform refuses our staff tokens: AUTH_SECRET differs; {SAME_SETTINGS}"
        elif who == "staff":
            hint = "the token's role may not do this"
        elif status == "401":
            hint = f"the signature was refused: {CHANNEL_SECRETS[who]} differs; {SAME_SETTINGS}"
        elif status == "404":
            hint = f"no webhook there: is {base_url} the contact center (`--base-url`)?"
        elif status == "503":
            hint = "the platform could not reach RabbitMQ or its database; see its logs"
        else:
            hint = "the platform refused the body; its logs and the error's details say why"
        lines.append(f"{seen}: {hint}")
    unreachable = sum(n for k, n in tally.statuses.items() if not k.isdigit())
    if unreachable:
        lines.append(
            f"{unreachable} requests never got an answer from {base_url}: is the platform "
            "running (`make up`) and listening there (`--base-url`, HTTP_HOST, HTTP_PORT)?"
        )
    return lines


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(
        hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


def _meta_body(payload: dict[str, Any]) -> bytes:
    # Meta sends compact JSON with non-ASCII escaped as \uXXXX, and signs those exact bytes.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def make_customers(count: int, rng: random.Random) -> list[Customer]:
    customers = []
    for i in range(count):
        channel = CHANNELS[i % len(CHANNELS)]
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if channel in ("whatsapp", "ivr"):
            external = f"+54911{rng.randrange(10_000_000, 99_999_999)}"
        elif channel == "messenger":
            external = str(rng.randrange(10**15, 10**16))
        else:
            external = f"web-{uuid.uuid4().hex[:12]}"
        customers.append(Customer(channel, external, name))
    return customers


class Simulation:
    def __init__(self, settings: Settings, client: httpx.AsyncClient, seed: int | None) -> None:
        self.settings = settings
        self.client = client
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.agent = {"Authorization": f"Bearer {issue_token(settings, 'luis', 'agent')}"}
        self.staff = {"Authorization": f"Bearer {issue_token(settings, 'ana', 'staff')}"}

    async def ensure_team(self) -> None:
        """Luis (agent) and Ana (staff) are people of the directory: staff hand chats only to
        those (an admin creates them once; already there is fine)."""
        admin = {"Authorization": f"Bearer {issue_token(self.settings, 'simulate', 'admin')}"}
        team = (("luis", "Luis Simulado", "agent"), ("ana", "Ana Simulada", "staff"))
        for user_id, name, role in team:
            try:
                response = await self.client.post(
                    "/api/access/users",
                    json={"id": user_id, "name": name, "role": role},
                    headers=admin,
                )
            except httpx.HTTPError:
                return
            self.tally.actions[f"directory user {user_id} {response.status_code}"] += 1

    async def _post(self, channel: str, path: str, **kwargs: Any) -> httpx.Response | None:
        self.tally.sent[channel] += 1
        try:
            response = await self.client.post(path, **kwargs)
        except httpx.HTTPError as exc:
            self.tally.statuses[type(exc).__name__] += 1
            self.tally.failures.append(f"{channel}: {type(exc).__name__}")
            return None
        self.tally.statuses[str(response.status_code)] += 1
        if not response.is_success:
            self.tally.failures.append(f"{channel} {response.status_code}: {response.text[:160]}")
            self.tally.refusals[f"{channel} {response.status_code} {error_code(response)}"] += 1
        return response

    def _staff_answer(self, response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            self.tally.refusals[f"staff {response.status_code} {error_code(response)}"] += 1

    def _text(self, customer: Customer) -> str:
        return self.rng.choice(OPENINGS if customer.messages == 0 else FOLLOW_UPS)

    async def whatsapp(self, customer: Customer) -> None:
        phone = customer.external_id.lstrip("+")
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491140000000", "phone_number_id": WHATSAPP_LINE},
            "contacts": [{"profile": {"name": customer.name}, "wa_id": phone}],
            "messages": [
                {
                    "from": phone,
                    "id": f"wamid.SIM{uuid.uuid4().hex}",
                    "timestamp": str(int(time.time())),
                    "type": "text",
                    "text": {"body": self._text(customer)},
                }
            ],
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
            ],
        }
        body = _meta_body(payload)
        await self._post(
            "whatsapp",
            "/webhooks/whatsapp",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(self.settings.whatsapp_app_secret, body),
            },
        )

    async def messenger(self, customer: Customer) -> None:
        now = int(time.time() * 1000)
        payload = {
            "object": "page",
            "entry": [
                {
                    "id": MESSENGER_PAGE,
                    "time": now,
                    "messaging": [
                        {
                            "sender": {"id": customer.external_id},
                            "recipient": {"id": MESSENGER_PAGE},
                            "timestamp": now,
                            "message": {
                                "mid": f"m_SIM{uuid.uuid4().hex}",
                                "text": self._text(customer),
                            },
                        }
                    ],
                }
            ],
        }
        body = _meta_body(payload)
        await self._post(
            "messenger",
            "/webhooks/messenger",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(self.settings.messenger_app_secret, body),
            },
        )

    async def webchat(self, customer: Customer) -> None:
        payload: dict[str, Any] = {
            "session_id": customer.external_id,
            "message_id": uuid.uuid4().hex,
            "text": self._text(customer),
            "sent_at": int(time.time() * 1000),
        }
        if customer.messages == 0:
            payload["name"] = customer.name
            payload["email"] = f"cliente{self.rng.randrange(1000, 9999)}@example.com"
            payload["transcript"] = [
                {"author": "bot", "text": "¡Hola! Soy Lara, ¿en qué te ayudo?"},
                {"author": "customer", "text": "Quiero hablar con alguien de soporte"},
            ]
        await self._post(
            "webchat",
            "/webhooks/webchat",
            json=payload,
            headers={"Authorization": f"Bearer {self.settings.webchat_token}"},
        )

    async def _twilio(self, path: str, params: dict[str, str]) -> None:
        url = str(self.client.base_url).rstrip("/") + path
        await self._post(
            "ivr",
            path,
            data=params,
            headers={
                "X-Twilio-Signature": twilio_signature(self.settings.ivr_auth_token, url, params)
            },
        )

    async def ivr(self, customer: Customer) -> None:
        """One call: it arrives, the caller picks a menu option (and one of its second level),
        it ends."""
        call_sid = "CA" + uuid.uuid4().hex
        common = {
            "CallSid": call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": customer.external_id,
            "To": "+541140000000",
            "Caller": customer.external_id,
            "Direction": "inbound",
            "FromCity": self.rng.choice(CITIES),
            "FromCountry": "AR",
            "ApiVersion": "2010-04-01",
        }
        await self._twilio("/webhooks/ivr", {**common, "CallStatus": "ringing"})
        digit = self.rng.choice(IVR_DIGITS)
        await self._twilio(
            "/webhooks/ivr?step=gather&menu=main",
            {**common, "CallStatus": "in-progress", "Digits": digit},
        )
        submenu = IVR_SUBMENUS.get(digit)
        if submenu:  # the second level: the specific motive
            await self._twilio(
                f"/webhooks/ivr?step=gather&menu={submenu}",
                {**common, "CallStatus": "in-progress", "Digits": self.rng.choice("123")},
            )
        await self._twilio(
            "/webhooks/ivr?step=status",
            {
                **common,
                "CallStatus": "completed",
                "CallDuration": str(self.rng.randrange(20, 400)),
                "SequenceNumber": "0",
                "CallbackSource": "call-progress-events",
            },
        )

    async def contact(self, customer: Customer) -> None:
        await getattr(self, customer.channel)(customer)
        customer.messages += 1

    async def _conversation_id(self, customer: Customer) -> str | None:
        try:
            response = await self.client.get(
                "/api/conversations",
                params={"identity": customer.identity, "status": "abierta"},
                headers=self.staff,
            )
            self._staff_answer(response)
            items = response.json().get("items", []) if response.is_success else []
        except (httpx.HTTPError, ValueError):
            return None
        return items[0].get("conversation_id") if items else None

    async def staff_work(self, customer: Customer) -> None:
        """Staff assigns chats to an agent, who escalates them back with a note; the office
        opens a technical service for some. Refusals (409, a race with Lara) are tallied."""
        conversation_id = await self._conversation_id(customer)
        if conversation_id is None:
            self.tally.actions["conversation not found yet"] += 1
            return
        if not customer.assigned and self.rng.random() < 0.5:
            # Staff hands Lara's chat to an agent; the agent later escalates it back to staff.
            customer.assigned = True
            response = await self.client.post(
                f"/api/conversations/{conversation_id}/assign",
                json={"to": "agent:luis", "note": "Luis, atendé este caso por favor."},
                headers=self.staff,
            )
            self.tally.actions[f"assign to agent {response.status_code}"] += 1
            self._staff_answer(response)
        elif customer.assigned and not customer.escalated:
            customer.escalated = True
            response = await self.client.post(
                f"/api/conversations/{conversation_id}/escalate",
                json={"note": self.rng.choice(ESCALATION_NOTES)},
                headers=self.agent,
            )
            self.tally.actions[f"escalate {response.status_code}"] += 1
            self._staff_answer(response)
        elif not customer.ticket:
            customer.ticket = True
            response = await self.client.post(
                "/api/services",
                json={
                    "conversation_id": conversation_id,
                    "reason": self.rng.choice(TICKET_REASONS),
                    "description": "Generado por la simulación: el cliente reporta la falla.",
                    "customer_name": customer.name,
                },
                headers=self.staff,
            )
            self.tally.actions[f"ticket {response.status_code}"] += 1
            self._staff_answer(response)
            if response.is_success:
                number = response.json().get("number")
                if number:
                    self.tally.tickets.append(str(number))


class ProgressBar:
    """A one-line progress bar on stderr, redrawn in place."""

    def __init__(self, seconds: float, width: int = 30, enabled: bool = True) -> None:
        self.enabled = enabled
        self.seconds = seconds
        self.width = width
        self.started = time.monotonic()

    def draw(self, tally: Tally) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        done = min(1.0, elapsed / self.seconds) if self.seconds > 0 else 1.0
        filled = int(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        sys.stderr.write(
            f"\r[{bar}] {done:4.0%} {elapsed:5.1f}s  requests={tally.total} "
            f"ok={tally.accepted} failed={tally.total - tally.accepted} "
            f"actions={sum(tally.actions.values())}   "
        )
        sys.stderr.flush()

    def close(self, tally: Tally) -> None:
        if not self.enabled:
            return
        self.draw(tally)
        sys.stderr.write("\n")


async def simulate(
    settings: Settings,
    base_url: str,
    customers: int,
    seconds: float,
    seed: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: bool = True,
) -> Tally:
    """Run the traffic; `transport` lets a test drive an in-process app instead of a socket."""
    async with httpx.AsyncClient(base_url=base_url, timeout=15, transport=transport) as client:
        sim = Simulation(settings, client, seed)
        await sim.ensure_team()
        people = make_customers(max(1, customers), sim.rng)
        bar = ProgressBar(seconds, enabled=progress)
        # About three contacts per customer over the run, at least two per second.
        interval = min(0.5, seconds / (3 * len(people))) if seconds > 0 else 0.0
        deadline = time.monotonic() + seconds
        pending: set[asyncio.Task[None]] = set()
        # Everyone gets in touch once first; then repeat customers come back at random.
        order = list(people)
        while time.monotonic() < deadline or order:
            customer = order.pop(0) if order else sim.rng.choice(people)
            task = asyncio.create_task(sim.contact(customer))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if (
                customer.channel != "ivr"
                and customer.messages >= 1
                and sim.rng.random() < 0.5
                and not (customer.escalated and customer.ticket)
            ):
                staff_task = asyncio.create_task(sim.staff_work(customer))
                pending.add(staff_task)
                staff_task.add_done_callback(pending.discard)
            bar.draw(sim.tally)
            await asyncio.sleep(interval)
            if not order and time.monotonic() >= deadline:
                break
        if pending:
            await asyncio.gather(*pending)
        bar.close(sim.tally)
        try:
            response = await client.get(
                "/api/conversations", params={"page_size": 1}, headers=sim.staff
            )
            if response.is_success:
                sim.tally.actions["conversations listed (total)"] = int(
                    response.json().get("total", 0)
                )
        except (httpx.HTTPError, ValueError):
            pass
        return sim.tally


def print_summary(tally: Tally, base_url: str) -> None:
    out = sys.stderr
    print(f"\nSimulation against {base_url}", file=out)
    print(
        "  requests by channel: " + ", ".join(f"{k}={v}" for k, v in sorted(tally.sent.items())),
        file=out,
    )
    print(
        "  HTTP statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(tally.statuses.items())),
        file=out,
    )
    for action, count in sorted(tally.actions.items()):
        print(f"  {action}: {count}", file=out)
    if tally.tickets:
        print(f"  technical services: {', '.join(tally.tickets[:10])}", file=out)
    for failure in tally.failures[:5]:
        print(f"  ! {failure}", file=out)


def run_simulation(settings: Settings, base_url: str, customers: int, seconds: float) -> int:
    """Drive traffic for `seconds`; 0 when (nearly) every channel request was accepted."""
    tally = asyncio.run(simulate(settings, base_url, customers, seconds))
    print_summary(tally, base_url)
    staff_refused = sum(n for key, n in tally.refusals.items() if key.startswith("staff 401"))
    if tally.total == 0 or tally.accepted < 0.95 * tally.total or staff_refused:
        refused = tally.total - tally.accepted
        print(
            f"simulation FAILED: {refused} of {tally.total} channel requests were refused"
            + (f", and {staff_refused} staff API calls" if staff_refused else ""),
            file=sys.stderr,
        )
        for line in explain_refusals(tally, base_url):
            print(f"  - {line}", file=sys.stderr)
        return 1
    return 0
