"""Every event of one aggregate's stream is of one kind (``crm.<service>.<aggregate>.*``):
a consumer follows the kinds of stream whose events its read model handles and skips the
others whole (``ProjectionConsumer.streams``), which is only safe if no stream mixes kinds."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest

import crm_shared
from crm_shared.domain import Aggregate
from crm_shared.events.catalog import CATALOG, stream_kind
from crm_shared.service import installed_services

PACKAGES = {crm_shared.__name__} | {
    service.app_factory.split(".")[0] for service in installed_services().values()
}


def _import_everything() -> None:
    for name in sorted(PACKAGES):
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)


def _aggregates(cls: type[Aggregate] = Aggregate) -> Iterator[type[Aggregate]]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _aggregates(subclass)


_import_everything()
AGGREGATES = sorted(
    {a for a in _aggregates() if a.appliers and a.__module__.split(".")[0] in PACKAGES},
    key=lambda a: a.__qualname__,
)


def test_every_service_has_aggregates_to_check() -> None:
    assert {"Contact", "Account", "Lead", "Opportunity"} <= {a.__name__ for a in AGGREGATES}


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__qualname__)
def test_an_aggregates_events_are_all_of_one_kind_of_stream(aggregate: type[Aggregate]) -> None:
    kinds = {stream_kind(event.type_name) for event in aggregate.appliers}
    assert len(kinds) == 1, f"{aggregate.__qualname__} records events of {sorted(kinds)}"


def test_the_kind_of_a_stream_is_its_service_and_aggregate() -> None:
    assert stream_kind("crm.sales.quote_number.reserved.v1") == "sales.quote_number"
    registered = CATALOG.by_type["crm.contacts.contact.registered.v1"]
    assert stream_kind(registered.type_name) == f"{registered.service}.{registered.aggregate}"
