"""Erasing what the sales service sealed under a contact's id (activities' texts, quotes'
customer names) when the contacts service erased the contact: one ``ContactDataErased``
event, whose recording deletes the sales service's key for that person.

Stored outside group commit (``EventSourcedApplication.append``), in a thread: it is rare,
and it comes from a consumer, not a request. An erasure delivered twice finds the event
already recorded and records nothing."""

from __future__ import annotations

import asyncio
from uuid import UUID

from crm_shared.catalog.sales.contact_data import ContactDataErased
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.application import EventSourcedApplication

BY_THE_SERVICE = EventMetadata(actor="service:sales")


def _erase(store: EventSourcedApplication, contact_id: UUID) -> None:
    if store.events_of(contact_id):
        return
    store.append(
        [
            DomainEvent(
                originator_id=contact_id,
                originator_version=1,
                data=ContactDataErased(),
                metadata=BY_THE_SERVICE,
            )
        ]
    )


async def erase_contact_data(store: EventSourcedApplication, contact_id: UUID) -> None:
    await asyncio.to_thread(_erase, store, contact_id)
