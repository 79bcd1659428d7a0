"""How a service makes itself known to `crm up` and the `crm` CLI (entry point ``crm.services``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

import typer

from crm_shared.messaging.relay import Relay
from crm_shared.settings import Settings


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    port: Callable[[Settings], int]
    app_factory: str  # "module:function" returning the FastAPI app
    cli: typer.Typer | None = None
    relay: Callable[[Settings], Relay] | None = None  # for event-sourced services
    # Worker processes share the load only where that is safe: a service whose relay
    # elects one leader can run several; one whose consumers take every partition, one.
    max_workers: int | None = None
    # Where this service's consumers keep their positions and applied versions (the
    # schema in CRM_DATABASE_URL), for `crm dlq`.
    consumer_schema: str | None = None

    def workers(self, settings: Settings) -> int:
        return min(settings.workers, self.max_workers or settings.workers)


def installed_services() -> dict[str, ServiceDefinition]:
    found: dict[str, ServiceDefinition] = {}
    for entry in entry_points(group="crm.services"):
        definition = entry.load()
        assert isinstance(definition, ServiceDefinition)
        found[definition.name] = definition
    return dict(sorted(found.items()))
