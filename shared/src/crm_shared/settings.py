"""One settings object per process, read from the environment (prefix ``CRM_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_shared.privacy.master_key import MasterKey

# 32 bytes, obviously not secret: `make up` works out of the box; production sets its own.
DEVELOPMENT_MASTER_KEY = "Y3JtLWRldmVsb3BtZW50LW1hc3Rlci1rZXktMzJieXQ="


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
    contacts_port: int = 8101
    projections_port: int = 8105
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
        default="dev-secret-change-me-0123456789abcdef",
        description="HS256 signing secret (development default; set it in production)",
    )
    jwt_public_key: str | None = Field(default=None, description="PEM public key for RS256")
    jwt_private_key: str | None = Field(
        default=None, description="PEM private key, only for `crm token` with RS256"
    )
    jwt_issuer: str = "crm"
    jwt_audience: str = "crm"
    jwt_leeway_seconds: int = 30
    token_ttl_seconds: int = 8 * 3600

    # Write path: concurrent commands share one transaction (group commit).
    max_commands_per_transaction: int = Field(default=500, ge=1)

    # Relay (outbox -> Kafka)
    relay_in_process: bool = Field(
        default=True, description="Run the relay inside the service (else run `crm relay NAME`)"
    )
    relay_batch_size: int = Field(default=1000, ge=1)
    relay_poll_seconds: float = Field(default=0.2, gt=0)

    # Consumers (Kafka -> read models)
    consumer_batch_size: int = Field(default=2000, ge=1)
    consumer_max_retries: int = Field(default=3, ge=0)
    consumer_poll_ms: int = Field(default=50, ge=1)

    # Personal data: sealed per person with data keys, each wrapped by the master key.
    master_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_MASTER_KEY),
        description="Base64 of 32 random bytes wrapping every data key (development "
        "default; set it in production: `openssl rand -base64 32`)",
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

    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry (it checks the providers on every request)",
    )
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def api_keys_database_url(self) -> str | None:
        return self.auth_database_url or self.database_url

    def service_url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    def url_of(self, service: str) -> str:
        """The base URL of a service by name (its key endpoint, for consumers)."""
        if service in self.service_urls:
            return self.service_urls[service].rstrip("/")
        port = getattr(self, f"{service}_port", None)
        if not isinstance(port, int):
            raise LookupError(f"no URL for service {service!r}: set CRM_SERVICE_URLS")
        return self.service_url(port)

    def key_wrapper(self) -> MasterKey:
        return MasterKey.from_base64(self.master_key.get_secret_value())


@lru_cache
def get_settings() -> Settings:
    return Settings()
