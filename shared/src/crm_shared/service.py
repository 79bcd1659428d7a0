"""A service is declared, not copied: everything the platform needs to know of it.

Each service's package declares one ``ServiceDefinition`` and registers it under the entry
point group ``crm.services``. `crm up`, the CLI, the settings (ports, URLs), the topics,
the roles allowed to call each service, the generated deploy files and the tests'
fixtures all derive from the installed definitions. A definition is light to import (no
web framework, no database or broker client): the heavy parts are named as
``"module:attribute"`` and imported when a process needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from crm_shared.roles import Role

if TYPE_CHECKING:
    import typer

EVERY_ROLE = frozenset(Role)


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    port: int  # its default HTTP port (CRM_<NAME>_PORT or CRM_PORTS overrides it)
    app_factory: str  # "module:function" returning the FastAPI app
    description: str = ""
    # Who may call its routes at all; the policy then decides per record.
    roles: frozenset[Role] = EVERY_ROLE
    # Its own events go to crm.<name>.events (with a .dlq companion).
    publishes: bool = True
    # The services whose events it consumes.
    consumes: tuple[str, ...] = ()
    # Event-sourced services: the schema of its event store, relay positions and data keys.
    event_store_schema: str | None = None
    # "module:function(settings) -> Relay", for `crm relay NAME`.
    relay: str | None = None
    # Where its consumers keep their positions and applied versions, for `crm dlq`.
    consumer_schema: str | None = None
    # A read model keeps its consumer's positions in its own schema: each consumer's
    # name and that schema, for `crm dlq` (a consumer not named here: consumer_schema).
    consumers: Mapping[str, str] = field(default_factory=dict)
    cli: typer.Typer | None = None
    # Worker processes share the load only where that is safe: a service whose relay
    # elects one leader can run several; one whose consumers take every partition, one.
    max_workers: int | None = None
    # Its pods in deploy/k8s/base (an overlay may scale them); more than one also gets a
    # PodDisruptionBudget there. Only for a service whose work is safe to share.
    replicas: int = 1
    # The read models `crm <name> rebuild MODEL` builds again beside the live ones; the
    # deploy manifests carry a suspended CronJob for each, to start as a Job of its own.
    rebuilds: tuple[str, ...] = ()

    @property
    def topic(self) -> str:
        return f"crm.{self.name}.events"

    def workers(self, requested: int) -> int:
        """How many worker processes to run when ``requested`` are asked for."""
        return min(requested, self.max_workers or requested)


def topic_owners(services: Iterable[ServiceDefinition]) -> list[str]:
    """The services whose event topics must exist: each that publishes, and each that
    one of them consumes, installed or not (a consumer subscribes to its topic before
    the publisher is written or deployed: marketing's, consumed by sales)."""
    owners = [d.name for d in services if d.publishes]
    consumed = [name for d in services for name in d.consumes]
    return list(dict.fromkeys([*owners, *consumed]))


def load(reference: str) -> Any:
    """The object a ``"module:attribute"`` reference names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@cache
def installed_services() -> dict[str, ServiceDefinition]:
    found: dict[str, ServiceDefinition] = {}
    for entry in entry_points(group="crm.services"):
        definition = entry.load()
        if not isinstance(definition, ServiceDefinition):
            raise TypeError(f"entry point {entry.name} is not a ServiceDefinition")
        found[definition.name] = definition
    return dict(sorted(found.items()))


def service(name: str) -> ServiceDefinition:
    try:
        return installed_services()[name]
    except KeyError:
        known = ", ".join(installed_services()) or "none"
        raise LookupError(f"no service {name!r} is installed (installed: {known})") from None
