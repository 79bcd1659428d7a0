"""The customer 360's fold stores any event the catalog decodes, as the event store reads
it: also what the contacts API refuses today and may have recorded before (NUL anywhere,
offsets up to +-23:59, instants outside Python's years in UTC, huge numbers, text longer
than an index entry). Such an event must never be dead-lettered: every replay would
dead-letter it again and its contact would be missing for good.

The events go as records (their data as it travels: JSON, personal values opened)
through the consumer's decoder into the real projection and the real PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from psycopg import AsyncConnection

from crm_projections.customer360.projection import SCHEMA, Customer360Projection
from crm_shared.catalog import CATALOG
from crm_shared.events import ReceivedEvent
from crm_shared.messaging.cloudevents import encode
from crm_shared.messaging.decoding import EventDecoder
from crm_shared.values import RECORDED
from tests.integration.kafka_tools import consumed
from tests.property.strategies import RECORDED_HISTORY, RecordedHistory


@pytest.fixture
async def projection(fresh_database: str) -> Customer360Projection:
    projection = Customer360Projection()
    async with await AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        await projection.setup(conn)
    return projection


async def _events(
    aggregate: str, history: list[tuple[str, dict[str, Any]]], recorded: RecordedHistory
) -> tuple[str, list[ReceivedEvent[Any]]]:
    aggregate_id = uuid4()
    records = []
    for sequence, (name, data) in enumerate(history, start=1):
        model = CATALOG.model(f"crm.contacts.{aggregate}.{name}.v1")
        state = {
            "id": str(uuid4()),
            "time": recorded.recorded_at,
            "actor": recorded.actor,
            # As the event store recorded it: valid by the catalog's rules of the time.
            "data": model.model_validate(data, context=RECORDED).model_dump(mode="json"),
        }
        record = encode(
            source="/crm/contacts",
            type_name=model.type_name,
            aggregate_id=aggregate_id,
            version=sequence,
            state=orjson.dumps(state),
        )
        records.append(consumed(record, offset=sequence))
    decoded = await EventDecoder(CATALOG, Customer360Projection.handles).decode(records)
    assert decoded.poison == []
    events = [e for e in decoded.events if isinstance(e, ReceivedEvent)]
    assert len(events) == len(history)
    return str(aggregate_id), events


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    # One database for all examples: each example's contact and account are new.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(recorded=RECORDED_HISTORY)
async def test_the_360_stores_any_event_the_catalog_decodes(
    fresh_database: str, projection: Customer360Projection, recorded: RecordedHistory
) -> None:
    account_id, account_events = await _events("account", recorded.account, recorded)
    registered = {**recorded.contact[0][1], "account_id": account_id}
    contact_id, contact_events = await _events(
        "contact", [("registered", registered), *recorded.contact[1:]], recorded
    )
    async with await AsyncConnection.connect(fresh_database) as conn:
        await projection.apply(conn, account_events + contact_events)
        await conn.commit()
        cur = await conn.execute(
            f"SELECT c.version, a.version FROM {SCHEMA}.customers c"
            f" JOIN {SCHEMA}.accounts a ON a.account_id = c.account_id WHERE c.contact_id = %s",
            (contact_id,),
        )
        assert await cur.fetchone() == (len(contact_events), len(account_events))
        cur = await conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.timeline WHERE contact_id = %s", (contact_id,)
        )
        assert await cur.fetchone() == (len(contact_events),)
