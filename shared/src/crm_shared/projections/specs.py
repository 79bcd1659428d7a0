"""Given events, then a document: a projection's fold specified without a database or a
broker. ``history`` numbers one aggregate's events as the event store would, and wraps
them as the consumer hands them over::

    contact = history(ContactRegistered(department="sales"), ContactArchived())
    assert fold(contact)["archived"] is True
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID, uuid4

from crm_shared.events import EventData, ReceivedEvent
from crm_shared.events.received import NOTHING_SEALED

WHEN = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def received(
    data: EventData,
    *,
    aggregate_id: UUID | None = None,
    version: int = 1,
    time: datetime = WHEN,
    actor: str | None = "user:tester",
    sealed: Mapping[str, str] | None = None,
) -> ReceivedEvent[EventData]:
    """One event as a consumer receives it."""
    return ReceivedEvent(
        event_id=uuid4(),
        aggregate_id=aggregate_id or uuid4(),
        version=version,
        time=time,
        actor=actor,
        correlation_id=None,
        recorded_type=data.type_name,
        topic="specification",
        partition=0,
        offset=version - 1,
        data=data,
        sealed=NOTHING_SEALED if sealed is None else sealed,
    )


def history(
    *events: EventData, aggregate_id: UUID | None = None, time: datetime = WHEN
) -> list[ReceivedEvent[EventData]]:
    """One aggregate's events, versions 1, 2, ... in order."""
    aggregate_id = aggregate_id or uuid4()
    return [
        received(data, aggregate_id=aggregate_id, version=version, time=time)
        for version, data in enumerate(events, start=1)
    ]
