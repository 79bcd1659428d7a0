"""One settings object per process, read from the environment (prefix ``CRM_``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_shared.cores import available_cores
from crm_shared.master_key import MasterKey

# Published, obviously not secret: `make up` works out of the box. Only the embedded stack
# of `crm up` (CRM_EMBEDDED=true) accepts them; every other service refuses to start.
DEVELOPMENT_JWT_SECRET = "dev-secret-change-me-0123456789abcdef"
DEVELOPMENT_MASTER_KEY = "Y3JtLWRldmVsb3BtZW50LW1hc3Rlci1rZXktMzJieXQ="
# The placeholders in deploy/ carry this marker: a value holding it was never replaced.
PLACEHOLDER_MARKER = "CHANGE-ME"
# Every secret this repository has ever published (development defaults, and values that
# deploy/ once shipped): anyone who read them can sign tokens or unwrap data keys.
PUBLISHED_SECRETS = frozenset(
    {
        DEVELOPMENT_JWT_SECRET,
        DEVELOPMENT_MASTER_KEY,
        "REPLACE-ME-placeholder-hs256-secret-0123456789abcdef",
        "REPLACE-ME-with-openssl-rand-base64-32",
        "dev-only-compose-secret-0123456789abcdef",
        "Y3JtLWNvbXBvc2UtZGV2LW9ubHktbWFzdGVyLWtleSE=",
        "Y3JtLWs4cy1kZXYtb3ZlcmxheS1tYXN0ZXIta2V5ISE=",
    }
)
MIN_HS256_SECRET_BYTES = 32
HOW_TO_MAKE_A_SECRET = "make one with `openssl rand -base64 32`"


class InsecureSettings(RuntimeError):
    """A service was about to run with a secret that is published or a placeholder."""


def _published(value: str) -> bool:
    return value in PUBLISHED_SECRETS or PLACEHOLDER_MARKER.lower() in value.lower()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    # Infrastructure. Unset URLs mean "start the embedded one" (for `crm up` only).
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset runs an embedded PostgreSQL"
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset runs the embedded broker"
    )
    data_dir: Path = Field(default=Path(".data"), description="Where embedded data lives")
    embedded_postgres_port: int = 55432
    embedded_kafka_port: int = 9092
    topic_partitions: int = Field(default=4, ge=1)

    # HTTP
    host: str = "127.0.0.1"
    ports: dict[str, int] = Field(
        default_factory=dict,
        description='HTTP port per service, e.g. {"contacts": 8101}; CRM_<NAME>_PORT also '
        "sets one; default: the port the service declares",
    )
    workers: int = Field(
        default=2,
        ge=1,
        description="HTTP worker processes of services that scale that way (contacts); "
        "services whose consumers own every partition (projections) run one",
    )
    max_body_bytes: int = Field(default=256 * 1024, description="Largest accepted request body")
    cors_origins: list[str] = Field(default_factory=list, description="Empty disables CORS")

    # Auth
    auth_database_url: str | None = Field(
        default=None, description="Where API keys live (schema auth); defaults to CRM_DATABASE_URL"
    )
    jwt_algorithm: str = Field(default="HS256", pattern="^(HS256|RS256)$")
    jwt_secret: str = Field(
        default=DEVELOPMENT_JWT_SECRET,
        description="HS256 signing secret, at least 32 bytes (the published development "
        "default works only in `crm up`'s embedded stack: `openssl rand -base64 32`)",
    )
    jwt_public_key: str | None = Field(default=None, description="PEM public key for RS256")
    jwt_private_key: str | None = Field(
        default=None, description="PEM private key, only for `crm token` with RS256"
    )
    jwt_issuer: str = "crm"
    jwt_audience: str = "crm"
    jwt_leeway_seconds: int = 30
    token_ttl_seconds: int = Field(default=8 * 3600, ge=1, description="`crm token` default")
    max_token_lifetime_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description="Longest accepted token lifetime (exp - iat); longer tokens are refused",
    )

    # Write path: concurrent commands share one transaction (group commit).
    max_commands_per_transaction: int = Field(default=500, ge=1)

    # Relay (outbox -> Kafka)
    relay_in_process: bool = Field(
        default=True, description="Run the relay inside the service (else run `crm relay NAME`)"
    )
    relay_batch_size: int = Field(default=1000, ge=1)
    relay_poll_seconds: float = Field(default=0.2, gt=0)
    relay_linger_seconds: float = Field(
        default=0.04,
        ge=0,
        description="After a commit wakes the relay, wait this long so later commits join "
        "its batch (latency traded for CPU per event downstream)",
    )

    # Consumers (Kafka -> read models)
    consumer_batch_size: int = Field(default=2000, ge=1)
    consumer_max_retries: int = Field(default=3, ge=0)
    consumer_poll_ms: int = Field(default=50, ge=1)
    # Replicas of a read-model service share partitions through a Kafka consumer group;
    # off, one consumer takes every partition (one replica only).
    consumer_group: bool = True
    # A rebuild reads its topics' partitions in this many processes at once (at most one
    # per partition): decoding and opening personal fields is CPU-bound Python. By default
    # one per core this process may use (its CPU affinity and its container's CPU quota).
    rebuild_processes: int = Field(default_factory=available_cores, ge=1)

    # Personal data: sealed per person with data keys, each wrapped by the master key.
    master_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_MASTER_KEY),
        description="Base64 of 32 random bytes wrapping every data key (the published "
        "development default works only in `crm up`'s embedded stack): "
        "`openssl rand -base64 32`",
    )
    data_key_cache_seconds: float = Field(
        default=60.0, gt=0, description="How long a consumer keeps a fetched data key"
    )
    pii_api_key: SecretStr | None = Field(
        default=None,
        description="API key with pii:read for our consumers to fetch data keys; unset, "
        "they sign a short-lived service token themselves (HS256, or RS256 with a private key)",
    )
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Where other services answer, e.g. {"contacts": "http://contacts:8101"}; '
        "default http://<host>:<port>",
    )

    # Sales: what amounts are reported in, and what every exchange rate is against.
    corporate_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the currency reports are in; every exchange rate is "
        "against it",
    )

    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry (it checks the providers on every request)",
    )
    log_level: str = "INFO"
    log_json: bool | None = Field(
        default=None, description="JSON log lines; unset: JSON unless stderr is a terminal"
    )
    embedded: bool = Field(
        default=False,
        description="Set by `crm up` for the services it starts over its embedded PostgreSQL "
        "and Kafka: only there may the published development secrets be used",
    )

    @model_validator(mode="after")
    def _sound(self) -> Settings:
        if self.jwt_algorithm == "HS256" and (
            len(self.jwt_secret.encode()) < MIN_HS256_SECRET_BYTES
        ):
            raise ValueError(
                f"CRM_JWT_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes for HS256: "
                f"{HOW_TO_MAKE_A_SECRET}"
            )
        if self.token_ttl_seconds > self.max_token_lifetime_seconds:
            raise ValueError("CRM_TOKEN_TTL_SECONDS must not exceed CRM_MAX_TOKEN_LIFETIME_SECONDS")
        return self

    @property
    def api_keys_database_url(self) -> str | None:
        return self.auth_database_url or self.database_url

    def service_url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    def port_of(self, service: str) -> int:
        """The HTTP port a service listens on here."""
        if service in self.ports:
            return self.ports[service]
        # One variable per service reads better in a shell than CRM_PORTS' JSON.
        override = os.environ.get(f"CRM_{service.upper()}_PORT")
        if override:
            return int(override)
        from crm_shared.service import service as definition

        return definition(service).port

    def url_of(self, service: str) -> str:
        """The base URL of a service by name (its key endpoint, for consumers)."""
        if service in self.service_urls:
            return self.service_urls[service].rstrip("/")
        try:
            return self.service_url(self.port_of(service))
        except LookupError:
            raise LookupError(f"no URL for service {service!r}: set CRM_SERVICE_URLS") from None

    def refuse_published_jwt_secret(self) -> None:
        """Every service checks this before it serves: a secret anyone can read signs
        admin tokens for anyone. RS256 does not use the secret, so does not check it."""
        if self.jwt_algorithm != "HS256" or not _published(self.jwt_secret):
            return
        if self.embedded and self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            return
        raise InsecureSettings(
            "CRM_JWT_SECRET is the published development secret or a placeholder from "
            "deploy/: anyone could sign tokens with it. Set CRM_JWT_SECRET to a secret of "
            f"your own ({HOW_TO_MAKE_A_SECRET}), or use RS256 (CRM_JWT_ALGORITHM, "
            "CRM_JWT_PUBLIC_KEY)."
        )

    def key_wrapper(self) -> MasterKey:
        """The master key, for the services that seal personal data (never a published one
        outside the embedded stack: it would open every person's data)."""
        key = self.master_key.get_secret_value()
        if _published(key) and not (self.embedded and key == DEVELOPMENT_MASTER_KEY):
            raise InsecureSettings(
                "CRM_MASTER_KEY is the published development key or a placeholder from "
                "deploy/: it would wrap every person's data key with a key anyone can read. "
                f"Set CRM_MASTER_KEY to base64 of 32 random bytes ({HOW_TO_MAKE_A_SECRET}), "
                "keep it in your secret manager and never change it afterwards "
                "(deploy/README.md)."
            )
        return MasterKey.from_base64(key)


@lru_cache
def get_settings() -> Settings:
    return Settings()
