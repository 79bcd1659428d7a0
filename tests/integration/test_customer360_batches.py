"""The customer 360 folds a batch in memory and writes each document once: a contact's
events in one batch give the same document and timeline as the same events one batch
each, in the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg import AsyncConnection

from crm_projections.customer360.projection import SCHEMA, Customer360Projection
from crm_shared.catalog.contacts import (
    ContactArchived,
    ContactInteractionLogged,
    ContactRegistered,
    ContactUpdated,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.projections.specs import history
from crm_shared.values import Channel, Direction, Email

# Recorded at another offset than UTC, as events may be: the 360 holds instants in UTC.
RECORDED_AT = datetime(2026, 11, 30, 9, 15, tzinfo=timezone(timedelta(hours=2)))


def contact_history() -> list[EventData]:
    def interaction(hours: int) -> ContactInteractionLogged:
        return ContactInteractionLogged(
            interaction_id=uuid4(),
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            subject="Hello",
            occurred_at=datetime(2026, 11, 1, hours, tzinfo=UTC),
            by="tester",
        )

    return [
        ContactRegistered(
            first_name="Ada",
            last_name="Lovelace",
            emails=[Email(address="ada@example.com")],
            department="sales",
            tags=["vip"],
        ),
        ContactUpdated(job_title="Engineer"),
        interaction(9),
        interaction(8),
        ContactArchived(),
    ]


@pytest.fixture
async def conn(fresh_database: str) -> Any:
    async with await AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        await Customer360Projection().setup(conn)
        yield conn


async def stored(conn: AsyncConnection[Any], contact_id: UUID) -> tuple[Any, ...]:
    cur = await conn.execute(
        f"SELECT doc, display_name, search, tags, archived, created_at, updated_at"
        f" FROM {SCHEMA}.customers WHERE contact_id = %s",
        (contact_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    doc, *columns = row
    doc.pop("id")
    cur = await conn.execute(
        f"SELECT occurred_at, type, entry - 'event_id' FROM {SCHEMA}.timeline"
        " WHERE contact_id = %s ORDER BY occurred_at, type",
        (contact_id,),
    )
    return doc, columns, await cur.fetchall()


HISTORY = contact_history()  # the same data (interaction ids included) for every contact


def as_received(contact_id: UUID) -> list[ReceivedEvent[EventData]]:
    return history(*HISTORY, aggregate_id=contact_id, time=RECORDED_AT)


async def test_a_contacts_events_in_one_batch_give_what_they_give_one_batch_each(
    conn: AsyncConnection[Any],
) -> None:
    projection = Customer360Projection()
    together, one_by_one = uuid4(), uuid4()
    await projection.apply(conn, as_received(together))
    for event in as_received(one_by_one):
        await projection.apply(conn, [event])
    doc, columns, timeline = await stored(conn, together)
    assert (doc, columns, timeline) == await stored(conn, one_by_one)
    assert doc["version"] == 5 and doc["archived"] is True
    assert doc["interactions"]["count"] == 2
    assert doc["created_at"] == "2026-11-30T07:15:00+00:00", "in UTC"
    assert len(timeline) == 5


async def test_a_batch_of_many_contacts_writes_each_its_own_document(
    conn: AsyncConnection[Any],
) -> None:
    contacts = [uuid4() for _ in range(3)]
    # Interleaved, as partitions deliver them: each contact's events stay in order.
    events = [e for batch in zip(*map(as_received, contacts), strict=True) for e in batch]
    await Customer360Projection().apply(conn, events)
    first = await stored(conn, contacts[0])
    for contact in contacts[1:]:
        assert await stored(conn, contact) == first
