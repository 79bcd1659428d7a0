"""The event contract: catalog of event types, the domain event, the event as received."""

from crm_shared.events.catalog import CATALOG, Catalog, EventData, event_type, personal
from crm_shared.events.domain_event import DomainEvent, EventMetadata
from crm_shared.events.received import Envelope, ReceivedEvent

__all__ = [
    "CATALOG",
    "Catalog",
    "DomainEvent",
    "Envelope",
    "EventData",
    "EventMetadata",
    "ReceivedEvent",
    "event_type",
    "personal",
]
