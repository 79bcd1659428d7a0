"""Erasing what the sales service sealed under a contact's id (activities' texts, quotes'
customer names) when the contacts service erased the contact: one ``ContactDataErased``
event, whose recording deletes the sales service's key for that person.

Stored outside group commit (``EventSourcedApplication.append``), in a thread: it is rare,
and it comes from a consumer, not a request. An erasure delivered twice finds the event
already recorded and records nothing."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid5

from crm_shared.catalog.sales.contact_data import ContactDataErased
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.application import EventSourcedApplication

BY_THE_SERVICE = EventMetadata(actor="service:sales")
# The erasure's stream: derived from the contact's id, never that id itself, which the
# contacts service's stream of the person has (consumers of both topics keep one version
# per aggregate id).
STREAMS = UUID("5b0f3c2e-8d7a-4e6b-9f1c-2a3b4c5d6e7f")


def erasure_stream(contact_id: UUID) -> UUID:
    return uuid5(STREAMS, str(contact_id))


def _erase(store: EventSourcedApplication, contact_id: UUID) -> None:
    stream = erasure_stream(contact_id)
    if store.events_of(stream):
        return
    store.append(
        [
            DomainEvent(
                originator_id=stream,
                originator_version=1,
                data=ContactDataErased(contact_id=contact_id),
                metadata=BY_THE_SERVICE,
            )
        ]
    )


async def erase_contact_data(store: EventSourcedApplication, contact_id: UUID) -> None:
    await asyncio.to_thread(_erase, store, contact_id)
