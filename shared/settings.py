"""Settings shared by every service; each service subclasses with its own env prefix (INTAKE_, ...)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core.identity import fingerprinter
from shared.sealing import CryptoProfile

DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"
DEV_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:55432/assistance"
DEV_KAFKA = "127.0.0.1:59092"


class ServiceSettings(BaseSettings):
    """Configuration from the environment. `DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` are read unprefixed
    as a fallback, so one development cluster serves all four services while production can split them."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    environment: Literal["development", "test", "staging", "production"] = "development"
    database_url: str = Field(default=DEV_DATABASE_URL)
    kafka_bootstrap_servers: str = Field(default=DEV_KAFKA)
    jwt_secret: str = DEV_JWT_SECRET
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # How long the issuer's key set (JWKS) and the tokens verified with it are trusted before fetching it again.
    jwt_jwks_cache_seconds: float = Field(default=300.0, gt=0)
    log_level: str = "INFO"
    db_pool_size: int = 10
    relay_batch_size: int = 1000
    relay_poll_seconds: float = 1.0
    consumer_batch_size: int = 500
    # Consumer processes per worker (one consumer group; the topics' 6 partitions are shared among them).
    consumer_processes: int = Field(default=1, ge=1, le=6)
    # Retention (shared/retention.py): each worker purges every purge_interval_seconds, purge_batch_size rows a
    # chunk. Outbox (sent) and inbox rows outlive the topics' retention so a replayed event is still recognised.
    idempotency_retention_hours: float = Field(default=24.0, gt=0)
    outbox_retention_days: float = Field(default=45.0, gt=0)
    inbox_retention_days: float = Field(default=45.0, gt=0)
    topic_retention_days: float = Field(default=30.0, gt=0, description="the Kafka topics' retention.ms, in days")
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    purge_batch_size: int = Field(default=5000, gt=0)
    # A secret for HMAC fingerprints of ID numbers (lookups without storing them in clear in indexes/logs); the key
    # that signs list cursors is derived from it (shared/pagination.py), so its development default is refused
    # outside development below.
    pii_hmac_key: str = "dev-only-pii-key-0123456789"
    # standard: AES-256-GCM sealing, HMAC-SHA256 fingerprints; gm (国密): SM4-GCM and HMAC-SM3. Fingerprints differ
    # between profiles, so every service that matches on them (intake, monitoring) runs the same one.
    crypto_profile: CryptoProfile = "standard"
    # Each source of /metrics (PostgreSQL, Kafka) answers within this or is reported down: a scrape never hangs.
    # Keep it under the ServiceMonitor's scrapeTimeout.
    metrics_timeout_seconds: float = Field(default=3.0, gt=0, le=8)

    @model_validator(mode="before")
    @classmethod
    def _unprefixed_fallbacks(cls, values: dict) -> dict:
        for key in ("database_url", "kafka_bootstrap_servers", "environment"):
            if not values.get(key) and os.environ.get(key.upper()):
                values[key] = os.environ[key.upper()]
        return values

    @model_validator(mode="after")
    def _outlive_the_topics(self) -> ServiceSettings:
        for name in ("outbox_retention_days", "inbox_retention_days"):
            if getattr(self, name) <= self.topic_retention_days:
                raise ValueError(
                    f"{name} must be longer than topic_retention_days ({self.topic_retention_days}): "
                    "a replayed event would no longer be recognised"
                )
        return self

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> ServiceSettings:
        if self.environment in ("staging", "production"):
            insecure = []
            if self.jwt_secret == DEV_JWT_SECRET and not self.jwt_jwks_url:
                insecure.append("jwt_secret")
            if self.pii_hmac_key == "dev-only-pii-key-0123456789":
                insecure.append("pii_hmac_key")
            if insecure:
                raise ValueError(f"insecure development defaults refused in {self.environment}: {insecure}")
        return self

    def id_fingerprinter(self) -> Callable[[str], str]:
        """`shared.core.identity.id_fingerprint` under this service's key and crypto profile, the key prepared once."""
        return fingerprinter(self.pii_hmac_key.encode(), self.crypto_profile)

    @property
    def schema(self) -> str:
        return self.service_name
