"""One settings object per process, read once from the environment.

The defaults of every secret are public development values. `deployment_problems` names
each secret that still holds one (or is too short); the platform refuses to start with any
of them unless `DEV_MODE=true` says this is a laptop, not a deployment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Minimum length, in bytes, of each secret a deployment must set. HS256 needs a key at least
# as long as its 32-byte hash (RFC 7518 §3.2); the others are shared with Meta, Twilio, the
# web chatbot and the portal, and guessing them must be as hopeless.
SECRET_MIN_BYTES: dict[str, int] = {
    "auth_secret": 32,
    "secrets_key": 32,
    "whatsapp_app_secret": 16,
    "whatsapp_verify_token": 16,
    "messenger_app_secret": 16,
    "messenger_verify_token": 16,
    "webchat_token": 24,
    "ivr_auth_token": 16,
    "portal_token": 24,
}

# Words that mark a value copied from an example (deploy/.env.example, the README) rather than
# generated: refused outside development mode whatever their length.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "replace-me", "example", "placeholder")
# A generated secret of 16+ bytes uses far more distinct characters than this; fewer means a
# typed pattern ("aaaa…", "1111…", "abcabc…"), which a guess finds.
MIN_DISTINCT_CHARACTERS = 8


def secret_weakness(value: str, default: str, minimum_bytes: int) -> str | None:
    """Why `value` is unfit to guard a deployment, or None: the public development value, a
    placeholder from the repository's examples, too short, or too few distinct characters."""
    folded = value.lower()
    if value == default or folded.startswith("dev-"):
        return "is the public development value"
    if any(word in folded for word in PLACEHOLDER_WORDS):
        return "is a placeholder published in the repository's examples"
    size = len(value.encode())
    if size < minimum_bytes:
        return f"is {size} bytes; at least {minimum_bytes}"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"is guessable (fewer than {MIN_DISTINCT_CHARACTERS} distinct characters)"
    return None


# Channels on which the platform writes to the customer; the web chatbot and the phone bot
# hand their conversations over read-only.
REPLY_CHANNELS = frozenset({"whatsapp", "messenger"})
READ_ONLY_CHANNELS = frozenset({"webchat", "ivr"})


def _channel(name: str, setting: str) -> str:
    channel = name.strip().lower()
    if channel in READ_ONLY_CHANNELS:
        raise ValueError(
            f"{setting}: {channel} is read-only (nothing is sent to the customer there); "
            f"use {', '.join(sorted(REPLY_CHANNELS))}"
        )
    if channel not in REPLY_CHANNELS:
        raise ValueError(
            f"{setting}: unknown channel {channel!r}; use {', '.join(sorted(REPLY_CHANNELS))}"
        )
    return channel


def parse_channels(value: str, setting: str) -> frozenset[str]:
    """`whatsapp,messenger` → the channels; empty → none. Unknown or read-only: ValueError."""
    return frozenset(_channel(part, setting) for part in value.split(",") if part.strip())


def parse_targets(value: str, setting: str) -> dict[str, float]:
    """`whatsapp=300,messenger=300` → seconds per channel; empty → none. A channel named
    twice, a missing `=`, or a number that is not positive: ValueError naming the setting."""
    targets: dict[str, float] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        name, eq, number = part.partition("=")
        if not eq:
            raise ValueError(f"{setting}: write channel=seconds, not {part.strip()!r}")
        channel = _channel(name, setting)
        try:
            seconds = float(number)
        except ValueError:
            raise ValueError(f"{setting}: {number.strip()!r} is not a number of seconds") from None
        if not seconds > 0 or seconds == float("inf"):
            raise ValueError(f"{setting}: the target of {channel} must be a positive number")
        if channel in targets:
            raise ValueError(f"{setting}: {channel} is named twice")
        targets[channel] = seconds
    return targets


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Infrastructure
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str | None = None
    data_dir: Path = Path(".data")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Prefixes isolate one deployment (or one test session) from another on a shared broker
    # and database server; empty in production.
    bus_namespace: str = ""
    mongo_db_prefix: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    # A laptop or a demo: the public development secrets are accepted (with a loud warning).
    dev_mode: bool = False
    # Addresses of reverse proxies whose X-Forwarded-For names the real client (uvicorn's
    # `forwarded_allow_ips`); failed-credential throttling counts per client.
    forwarded_allow_ips: str = "127.0.0.1"

    # Bus behaviour
    prefetch_count: int = 50
    delivery_limit: int = 5
    publish_timeout_seconds: float = 5.0
    # On stop: open HTTP connections (the live feed's too) get this long to finish, then
    # in-flight handlers as long again; the platform is gone within ~2x this + 2 s.
    graceful_timeout_seconds: float = 4.0
    # Micro-batches of the hot consumers: a batch goes when it holds this many messages or
    # its oldest message has waited this long (a batch queued behind a slow one goes at once).
    batch_max_messages: int = 50
    batch_max_wait_ms: float = 50.0
    # At start-up, how long to keep retrying a broker that refuses connections (a busy
    # machine starts RabbitMQ late) before giving up; the wait doubles up to 10 s.
    broker_connect_timeout_seconds: float = 120.0
    # Scale-out (README, "Running replicas"). AMQP_URL may list several cluster nodes,
    # comma-separated: every (re)connection tries them in turn. ROUTING_PARTITIONS > 1 splits
    # routing's inbound traffic into that many single-active-consumer queues by customer
    # (ingest puts the partition in the routing key); it must be the same in every process.
    # A replica consumes first the partitions p with p % REPLICA_COUNT == REPLICA_INDEX and
    # subscribes to the others as a standby after ROUTING_STANDBY_DELAY_SECONDS.
    routing_partitions: int = Field(default=1, ge=1, le=64)
    replica_index: int = Field(default=0, ge=0)
    replica_count: int = Field(default=1, ge=1)
    routing_standby_delay_seconds: float = 3.0

    # Channels
    whatsapp_app_secret: str = "dev-whatsapp-secret"
    whatsapp_verify_token: str = "dev-whatsapp-verify"
    messenger_app_secret: str = "dev-messenger-secret"
    messenger_verify_token: str = "dev-messenger-verify"
    webchat_token: str = "dev-webchat-token"
    ivr_auth_token: str = "dev-ivr-token"
    # Twilio signs the public URL it called; behind a proxy the request URL differs.
    ivr_public_base_url: str | None = None
    max_webhook_bytes: int = 3 * 1024 * 1024
    # Request bodies are read by the HTTP guard (shared/http_guard.py) before any route runs:
    # whole within this many seconds (else 408), and at most this many bytes of bodies being
    # read at once, in all and per client address (else 503 with Retry-After), so clients
    # holding half-sent bodies cannot make the process buffer without bound. A burst of
    # ordinary webhooks (a few KB each) never comes near.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)
    max_body_bytes_in_flight: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_body_bytes_in_flight_per_client: int = Field(default=16 * 1024 * 1024, ge=1024)

    # Outbound delivery (ingest sends replies). A channel whose token is unset is not
    # consumed: its replies wait in `connector.<channel>` and /readyz says so.
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    messenger_page_access_token: str | None = None
    graph_api_base_url: str = "https://graph.facebook.com"  # scheme and host; a stand-in in tests
    graph_api_version: str = "v21.0"
    graph_api_timeout_seconds: float = 10.0
    # WhatsApp throughput per business number (Meta: 80 messages/s by default, 1,000 after
    # the automatic upgrade, 20 for a number shared with the Business app). It counts both
    # directions; WHATSAPP_SEND_RATE_PER_SECOND, when set, is the share replies may use
    # (leave room for inbound traffic), else replies may use the whole tier.
    whatsapp_throughput_tier: int = Field(default=80, ge=1, le=1000)
    whatsapp_send_rate_per_second: int | None = Field(default=None, ge=1)
    # WhatsApp's pair rate limit (one business number to one user, error 131056): about one
    # message every 6 s sustained; a short burst is allowed and borrows from later quota.
    whatsapp_pair_interval_seconds: float = Field(default=6.0, gt=0)
    whatsapp_pair_burst: int = Field(default=3, ge=1)
    # Messenger Send API, per Page: 300 calls/s for text, links, reactions and stickers;
    # 10 calls/s for messages with audio or video.
    messenger_text_rate_per_second: int = Field(default=300, ge=1)
    messenger_media_rate_per_second: int = Field(default=10, ge=1)
    # Template sent when WhatsApp's 24-hour window is closed; its body has one parameter
    # ({{1}}) that receives the reply's text. Unset: such replies fail with the reason.
    whatsapp_template_name: str | None = None
    whatsapp_template_language: str = "es"
    # In-process retries of a retryable failure, then the reply is parked and retried by
    # the sweeper until `delivery_give_up_hours`.
    delivery_retry_attempts: int = 3
    delivery_retry_base_seconds: float = 0.5
    delivery_retry_max_seconds: float = 30.0
    delivery_retry_inline_max_seconds: float = 5.0
    delivery_sweep_seconds: float = 5.0
    delivery_lease_seconds: float = 60.0
    delivery_give_up_hours: float = 24.0
    # Consultation answers by email. Unset host: email answers wait in `connector.email`.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "ToWebs <soporte@towebs.example>"
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = 15.0

    # Staff API
    auth_secret: str = "dev-auth-secret-change-me-please-32b"
    portal_token: str = "dev-portal-token"
    access_token_minutes: int = 12 * 60
    # No token is accepted whose exp is further than this from its iat, whoever signed it.
    max_token_minutes: int = 24 * 60
    # Staff API request bodies larger than this get 413 before they are read whole.
    max_api_body_bytes: int = 256 * 1024
    # A client (by address) that presents this many bad credentials (JWT, portal token,
    # webchat token, verify token, webhook signature) within the window gets 429 until the
    # window has passed.
    auth_failure_limit: int = 20
    auth_failure_window_seconds: float = 60.0
    # How long a process trusts what it read of a user's token revocation.
    revocation_cache_seconds: float = 5.0
    # Console sign-in (shared/access): how long a session lives, whether its cookie is
    # `Secure` (unset: Secure unless DEV_MODE, so `make up` works over plain http), and how
    # many wrong passwords for one user from one address lock that pair for how long.
    session_minutes: int = 12 * 60
    session_cookie_secure: bool | None = None
    login_failure_limit: int = 5
    login_lock_seconds: float = 300.0

    # Domain
    welcome_message: str = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"
    tz: str = Field(default="America/Argentina/Buenos_Aires")
    # Phones written the local way (`(011) 4555-1234`) are read in this country's plan.
    default_country: str = "AR"
    hold_reminder_seconds: float = 120.0
    # A person is "en línea" while their console beat within this; consoles beat 3 times in it.
    presence_timeout_seconds: float = 60.0
    secrets_key: str = "dev-secrets-key-change-me"
    lara_engine: str = "rules"
    faq_path: Path | None = None
    # When people answer the chats Lara hands over, in `tz`: "lun-vie 08:00-22:00; sab-dom
    # 09:00-18:00" (a day left out is closed). Outside them Lara tells the customer when.
    office_hours: str = "lun-vie 08:00-22:00; sab-dom 09:00-18:00"

    # Customer satisfaction (CSAT): when a person closes a conversation on one of these
    # channels (comma-separated; empty: never), the customer is asked one question; their
    # next message within `csat_window_hours` that is a score 1-5 answers it. Only channels
    # that can write to the customer: webchat and ivr are read-only here (refused).
    csat_channels: str = "whatsapp,messenger"
    csat_window_hours: float = Field(default=24.0, gt=0)
    csat_question: str = (
        "¿Cómo calificarías la atención que recibiste? Respondé con un número del 1 al 5."
    )
    csat_thanks: str = "¡Gracias por tu calificación!"
    # First-response target per channel, in seconds ("whatsapp=300,messenger=300"; a channel
    # left out has none): from when a conversation reaches people (Lara hands it over, or a
    # person takes it) to the first message a person sends. Read-only channels are refused:
    # nobody can write there, every conversation would miss it.
    first_response_target_seconds: str = "whatsapp=300,messenger=300"

    @field_validator("csat_channels")
    @classmethod
    def _csat_channels(cls, value: str) -> str:
        return ",".join(sorted(parse_channels(value, "CSAT_CHANNELS")))

    @field_validator("first_response_target_seconds")
    @classmethod
    def _first_response_targets(cls, value: str) -> str:
        targets = parse_targets(value, "FIRST_RESPONSE_TARGET_SECONDS")
        return ",".join(f"{k}={v:g}" for k, v in sorted(targets.items()))

    @property
    def csat_channel_set(self) -> frozenset[str]:
        return parse_channels(self.csat_channels, "CSAT_CHANNELS")

    @property
    def first_response_targets(self) -> dict[str, float]:
        return parse_targets(self.first_response_target_seconds, "FIRST_RESPONSE_TARGET_SECONDS")

    # Exports: Prints render in worker processes; more than these at once answer 429.
    print_max_per_user: int = 1
    print_max_concurrent: int = 2
    print_workers: int = 2
    # A chats row whose only change is a new chat line (its "último mensaje") is written at
    # most once per this many seconds; status, holder, customer and tags are written at once.
    # The database's cost is per document written; the live screens read routing, not this.
    exports_chat_line_seconds: float = Field(default=10.0, ge=0)

    def db_name(self, service: str) -> str:
        return f"{self.mongo_db_prefix}{service}"

    def deployment_problems(self) -> list[str]:
        """Each secret that is unfit for a deployment (`secret_weakness`), named by its
        environment variable; empty when the settings are fit for a deployment."""
        defaults = type(self).model_fields
        problems: list[str] = []
        for name, minimum in SECRET_MIN_BYTES.items():
            weakness = secret_weakness(getattr(self, name), defaults[name].default, minimum)
            if weakness:
                problems.append(f"{name.upper()} {weakness}")
        return problems


class UnsafeSettings(RuntimeError):
    """The settings carry development secrets and development mode is off."""


def ensure_deployable(settings: Settings) -> list[str]:
    """Raise `UnsafeSettings` naming every offending secret, unless `dev_mode` is on; in
    development mode return the problems so that the caller can warn about them."""
    problems = settings.deployment_problems()
    if problems and not settings.dev_mode:
        raise UnsafeSettings(
            "refusing to start with development secrets: "
            + "; ".join(problems)
            + ". Set each of them (see README, Configuration), or DEV_MODE=true on a laptop."
        )
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
