"""One settings object per process, read once from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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

    # Staff API
    auth_secret: str = "dev-auth-secret-change-me-please-32b"
    portal_token: str = "dev-portal-token"
    access_token_minutes: int = 12 * 60

    # Domain
    welcome_message: str = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"
    tz: str = Field(default="America/Argentina/Buenos_Aires")
    # Phones written the local way (`(011) 4555-1234`) are read in this country's plan.
    default_country: str = "AR"
    hold_reminder_seconds: float = 120.0
    secrets_key: str = "dev-secrets-key-change-me"
    lara_engine: str = "rules"
    faq_path: Path | None = None

    # Exports: Prints render in worker processes; more than these at once answer 429.
    print_max_per_user: int = 1
    print_max_concurrent: int = 2
    print_workers: int = 2

    def db_name(self, service: str) -> str:
        return f"{self.mongo_db_prefix}{service}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
