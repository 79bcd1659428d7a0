"""The event contract: catalog of event types, the domain event, CloudEvents encoding."""

from crm_shared.events.catalog import CATALOG, Catalog, EventData, event_type, personal
from crm_shared.events.domain_event import DomainEvent, EventMetadata

__all__ = [
    "CATALOG",
    "Catalog",
    "DomainEvent",
    "EventData",
    "EventMetadata",
    "event_type",
    "personal",
]
