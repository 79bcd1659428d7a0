"""What a batch tells of conversions and erasures: pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

from crm_shared.catalog.contacts import ContactErased
from crm_shared.catalog.sales.leads import LeadConverted
from crm_shared.events import EventData, ReceivedEvent


class Batch(NamedTuple):
    # lead -> the contact it became, and the contacts erased, as this batch tells.
    converted: dict[UUID, UUID]
    erased: set[UUID]


def batch_of(events: Sequence[ReceivedEvent[EventData]]) -> Batch:
    """The conversions and erasures of a batch (an event delivered twice counts once)."""
    batch = Batch({}, set())
    for event in events:
        match event.data:
            case LeadConverted(contact_id=contact_id):
                batch.converted[event.aggregate_id] = contact_id
            case ContactErased():
                batch.erased.add(event.aggregate_id)
    return batch
