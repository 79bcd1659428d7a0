"""Small builders shared by the integration tests."""

from __future__ import annotations

from uuid import uuid4

from crm_contacts.application import SCHEMA, ContactsEventStore
from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.settings import Settings


def contact_events(count: int, updates: int = 0) -> list[DomainEvent]:
    """Events of ``count`` new contacts, each changed ``updates`` times."""
    events: list[DomainEvent] = []
    for i in range(count):
        contact = Contact.register(
            uuid4(), ContactRegistered(first_name=f"C{i}", department="sales")
        )
        for n in range(updates):
            contact.update({"last_name": f"L{n}"})
        for event in contact.collect_events():
            event.metadata = EventMetadata(actor="user:test", correlation_id=f"corr-{i}")
            events.append(event)
    return events


def store_for(database_url: str) -> ContactsEventStore:
    return ContactsEventStore(database_url, SCHEMA, Settings(embedded=True).key_wrapper())
