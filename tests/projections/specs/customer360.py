"""Given a contact's or an account's events, then its 360 document: the fold alone."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from crm_projections.customer360 import documents
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.projections.specs import WHEN, history

CONTACT_ID = UUID("5a4b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d")
RECORDED_AT = WHEN.isoformat()


def contact(*events: EventData) -> dict[str, Any] | None:
    """The contact's document after its events (None if it was never registered)."""
    return fold_contact(history(*events, aggregate_id=CONTACT_ID))


def fold_contact(events: list[ReceivedEvent[EventData]]) -> dict[str, Any] | None:
    doc = None
    for event in events:
        doc = documents.apply_contact_event(doc, event)
    return doc


def account(*events: EventData) -> dict[str, Any] | None:
    doc = None
    for event in history(*events, aggregate_id=uuid4()):
        doc = documents.apply_account_event(doc, event)
    return doc


def timeline(*events: EventData) -> list[dict[str, Any]]:
    """The timeline entry of each event."""
    return [documents.timeline_entry(e) for e in history(*events, aggregate_id=CONTACT_ID)]
