"""One settings object per process, read once from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    # Bus behaviour
    prefetch_count: int = 50
    delivery_limit: int = 5
    publish_timeout_seconds: float = 5.0
    graceful_timeout_seconds: float = 15.0

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

    # Outbound delivery (ingest sends replies). A channel whose token is unset is not
    # consumed: its replies wait in `connector.<channel>` and /readyz says so.
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    messenger_page_access_token: str | None = None
    graph_api_base_url: str = "https://graph.facebook.com"  # scheme and host; a stand-in in tests
    graph_api_version: str = "v21.0"
    graph_api_timeout_seconds: float = 10.0
    # WhatsApp's default throughput tier is 80 messages/s per business number.
    whatsapp_send_rate_per_second: int = 80
    messenger_send_rate_per_second: int = 40
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

    # Domain
    welcome_message: str = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"
    tz: str = Field(default="America/Argentina/Buenos_Aires")
    hold_reminder_seconds: float = 120.0
    secrets_key: str = "dev-secrets-key-change-me"
    lara_engine: str = "rules"
    faq_path: Path | None = None

    def db_name(self, service: str) -> str:
        return f"{self.mongo_db_prefix}{service}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
