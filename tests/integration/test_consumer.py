"""The projection consumer over real PostgreSQL and the real Kafka protocol."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from psycopg import AsyncConnection

from crm_shared.events import Catalog, EventData, ReceivedEvent, event_type
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.consumer import ConsumerSettings, ConsumerState, ProjectionConsumer
from tests.integration.kafka_tools import read_all

# The tests' own event types: in a catalog of their own, so the published one stays ours.
TEST_EVENTS = Catalog()


@event_type("test", "thing", "changed", catalog=TEST_EVENTS)
class ThingChanged(EventData):
    n: int | None = None
    poison: bool = False  # the projection fails on it
    fragile: bool = False
    birthday: str | None = None


@event_type("test", "thing", "renamed", catalog=TEST_EVENTS)
class ThingRenamed(EventData):
    name: str


# Aggregates are named in the tests; their ids are UUIDs, as every CloudEvents subject.
NAMESPACE = uuid.UUID("6f1c7e36-4f9b-4b8e-9d7a-0c8f3f2d5e11")
NAMES: dict[str, str] = {}


def aggregate(name: str) -> str:
    aggregate_id = str(uuid.uuid5(NAMESPACE, name))
    NAMES[aggregate_id] = name
    return aggregate_id


def event_record(
    name: str,
    version: int,
    payload: dict[str, Any] | None = None,
    type_name: str = ThingChanged.type_name,
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    aggregate_id = aggregate(name)
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", b"/crm/test"),
        ("ce_type", type_name.encode()),
        ("ce_subject", aggregate_id.encode()),
        ("ce_time", b"2026-11-01T10:00:00+00:00"),
        ("ce_sequence", str(version).encode()),
        ("content-type", b"application/json"),
    ]
    return aggregate_id.encode(), orjson.dumps(payload or {"n": version}), headers


class CountingProjection:
    """Records every event it is given; fails on events whose data says so."""

    handles: Sequence[type[EventData]] = (ThingChanged,)

    def __init__(self, topic: str, schema: str) -> None:
        self.name = f"counting_{uuid.uuid4().hex[:6]}"
        self.topics: Sequence[str] = (topic,)
        self.table = f"{schema}.{self.name}"
        self.received: list[ReceivedEvent[EventData]] = []

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (event_id text, aggregate text, version int)"
        )  # type: ignore[arg-type]

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f"TRUNCATE {self.table}")  # type: ignore[arg-type]

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        for event in events:
            match event.data:
                case ThingChanged(poison=True):
                    raise ValueError("cannot handle this one")
        async with conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO {self.table} VALUES (%s, %s, %s)",  # type: ignore[arg-type]
                [(str(e.event_id), str(e.aggregate_id), e.version) for e in events],
            )
        self.received += events

    async def rows(self, database_url: str) -> list[tuple[str, str, int]]:
        """(event id, aggregate name, version), by aggregate and version."""
        async with await AsyncConnection.connect(database_url) as conn:
            cur = await conn.execute(f"SELECT event_id, aggregate, version FROM {self.table}")  # type: ignore[arg-type]
            rows = [(e, NAMES[a], v) for e, a, v in await cur.fetchall()]
        return sorted(rows, key=lambda row: (row[1], row[2]))


def consumer_of(projection: CountingProjection, settings: ConsumerSettings) -> ProjectionConsumer:
    return ProjectionConsumer(projection, settings, catalog=TEST_EVENTS)


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def until(predicate, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


@pytest.fixture
def settings(fresh_database: str, kafka: EmbeddedKafka) -> ConsumerSettings:
    return ConsumerSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        database_url=fresh_database,
        schema="readmodel",
        batch_size=100,
        max_retries=2,
        poll_ms=20,
        retry_backoff_seconds=0.01,
    )


async def test_each_event_is_applied_once_even_when_delivered_twice(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    records = [event_record(f"agg-{a}", v) for a in range(10) for v in (1, 2, 3)]
    await produce(settings.bootstrap_servers, fresh_topic, records)
    await produce(settings.bootstrap_servers, fresh_topic, records)  # a re-publish from the start
    await consume_everything(projection, settings, fresh_topic)
    rows = await projection.rows(settings.database_url)
    assert len(rows) == 30
    assert [v for _, a, v in rows if a == "agg-3"] == [1, 2, 3]


async def consume_everything(
    projection: CountingProjection, settings: ConsumerSettings, topic: str
) -> None:
    """Runs a consumer until it has applied everything on the topic, then stops it."""
    consumer = consumer_of(projection, settings)
    await consumer.start()
    try:
        await until(lambda: _caught_up(consumer, settings, topic))
    finally:
        await consumer.stop()


async def _caught_up(consumer: ProjectionConsumer, settings: ConsumerSettings, topic: str) -> bool:
    total = len(await read_all(settings.bootstrap_servers, topic, timeout_ms=50))
    return sum(o for (t, _), o in consumer.applied_through.items() if t == topic) >= total


async def test_a_restarted_consumer_continues_from_its_stored_offsets(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    await produce(
        settings.bootstrap_servers, fresh_topic, [event_record(f"a{i}", 1) for i in range(5)]
    )
    await consume_everything(projection, settings, fresh_topic)
    await produce(
        settings.bootstrap_servers, fresh_topic, [event_record(f"b{i}", 1) for i in range(5)]
    )
    await consume_everything(projection, settings, fresh_topic)
    assert len(await projection.rows(settings.database_url)) == 10


async def test_an_undecodable_record_goes_to_the_dead_letter_topic_and_the_rest_are_applied(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    good = [event_record(f"g{i}", 1) for i in range(4)]
    garbage = (b"k", b"not json at all", [("ce_type", b"what")])
    await produce(
        settings.bootstrap_servers, fresh_topic, [good[0], good[1], garbage, good[2], good[3]]
    )
    await consume_everything(projection, settings, fresh_topic)
    assert len(await projection.rows(settings.database_url)) == 4
    (dead,) = await read_all(settings.bootstrap_servers, f"{fresh_topic}.dlq")
    headers = dict(dead.headers)
    assert dead.value == b"not json at all"
    assert headers["dlq_exception"] == b"UndecodableRecord"
    assert headers["dlq_original_topic"] == fresh_topic.encode()
    assert headers["dlq_consumer"] == projection.name.encode()


async def test_an_event_the_projection_keeps_failing_on_is_dead_lettered_and_its_aggregate_parked(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    records = [
        event_record("x", 1),
        event_record("x", 2, {"poison": True}),
        event_record("x", 3),
        event_record("y", 1),
    ]
    await produce(settings.bootstrap_servers, fresh_topic, records)
    await consume_everything(projection, settings, fresh_topic)
    rows = await projection.rows(settings.database_url)
    # x stays as it was before the failing event: a fold never sees version 3 without 2.
    assert [(a, v) for _, a, v in rows] == [("x", 1), ("y", 1)]
    (dead,) = await read_all(settings.bootstrap_servers, f"{fresh_topic}.dlq")
    assert dict(dead.headers)["dlq_error"] == b"ValueError"
    assert dict(dead.headers)["ce_sequence"] == b"2"


async def test_an_offset_past_the_end_of_the_partition_reads_it_again_skipping_what_was_applied(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    await produce(
        settings.bootstrap_servers, fresh_topic, [event_record(f"a{i}", 1) for i in range(6)]
    )
    await consume_everything(projection, settings, fresh_topic)
    # As after the broker lost its data: our stored offsets are beyond what it holds.
    async with await AsyncConnection.connect(settings.database_url) as conn:
        await conn.execute(
            f"UPDATE {settings.schema}.consumer_offsets SET next_offset = next_offset + 1000"
        )  # type: ignore[arg-type]
    await produce(settings.bootstrap_servers, fresh_topic, [event_record("new", 1)])
    await consume_everything(projection, settings, fresh_topic)
    rows = await projection.rows(settings.database_url)
    assert len(rows) == 7
    assert ("new", 1) in [(a, v) for _, a, v in rows]


async def test_a_reset_read_model_is_rebuilt_by_the_running_consumer(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    await produce(
        settings.bootstrap_servers, fresh_topic, [event_record(f"a{i}", 1) for i in range(5)]
    )
    consumer = consumer_of(projection, settings)
    await consumer.start()
    try:
        await until(lambda: _caught_up(consumer, settings, fresh_topic))
        async with await AsyncConnection.connect(settings.database_url) as conn, conn.transaction():
            await ConsumerState(settings.schema, projection.name).reset(conn)
            await projection.drop(conn)
        await produce(settings.bootstrap_servers, fresh_topic, [event_record("after", 1)])

        async def rebuilt() -> bool:
            return len(await projection.rows(settings.database_url)) == 6

        await until(rebuilt)
    finally:
        await consumer.stop()


async def test_catching_up_reads_to_the_true_end_even_when_the_broker_undercounts(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    # Many records per partition in few produce batches: the case where Tansu reports
    # a partition's end as (base offset of the last batch + 1).
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=20
    )
    await producer.start()
    try:
        sends = [
            await producer.send(fresh_topic, v, key=k, headers=h)
            for k, v, h in (event_record(f"agg-{i % 7}", i // 7 + 1) for i in range(70))
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    projection = CountingProjection(fresh_topic, settings.schema)
    read = await consumer_of(projection, settings).catch_up()
    assert read == 70
    assert len(await projection.rows(settings.database_url)) == 70


async def test_a_consumer_that_fails_mid_batch_resumes_from_its_stored_offsets(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    records = [event_record("p", 1), event_record("p", 2, {"poison": True}), event_record("q", 1)]
    await produce(settings.bootstrap_servers, fresh_topic, records)
    consumer = consumer_of(projection, settings)
    dead_letter = consumer._dead_letter
    failures = iter([RuntimeError("the dead-letter topic is unreachable")])

    async def flaky_dead_letter(record, error):  # type: ignore[no-untyped-def]
        for failure in failures:
            raise failure
        await dead_letter(record, error)

    consumer._dead_letter = flaky_dead_letter  # type: ignore[method-assign]
    await consumer.start()
    try:
        await until(lambda: _caught_up(consumer, settings, fresh_topic), within=30)
    finally:
        await consumer.stop()
    rows = await projection.rows(settings.database_url)
    assert [(a, v) for _, a, v in rows] == [("p", 1), ("q", 1)]
    assert len(await read_all(settings.bootstrap_servers, f"{fresh_topic}.dlq")) == 1


async def test_the_projection_receives_the_catalogs_typed_events_with_their_envelope(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    key, value, headers = event_record("t", 1, {"n": 7})
    await produce(settings.bootstrap_servers, fresh_topic, [(key, value, headers)])
    await consume_everything(projection, settings, fresh_topic)
    (event,) = projection.received
    assert event.data == ThingChanged(n=7)
    assert str(event.aggregate_id) == aggregate("t") and event.version == 1
    assert str(event.event_id) == dict(headers)["ce_id"].decode()
    (record,) = await read_all(settings.bootstrap_servers, fresh_topic)
    assert (event.topic, event.partition, event.offset) == (fresh_topic, record.partition, 0)


async def test_a_record_of_a_type_the_catalog_does_not_know_is_dead_lettered_and_parks_its_aggregate(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    records = [
        event_record("x", 1),
        event_record("x", 2, type_name="crm.test.thing.melted.v1"),
        event_record("x", 3),
        event_record("y", 1),
    ]
    await produce(settings.bootstrap_servers, fresh_topic, records)
    await consume_everything(projection, settings, fresh_topic)
    rows = await projection.rows(settings.database_url)
    assert [(a, v) for _, a, v in rows] == [("x", 1), ("y", 1)]
    (dead,) = await read_all(settings.bootstrap_servers, f"{fresh_topic}.dlq")
    headers = dict(dead.headers)
    assert headers["dlq_exception"] == b"UnknownEventType"
    assert b"crm.test.thing.melted.v1" in headers["dlq_error"]
    assert headers["ce_sequence"] == b"2"


async def test_data_that_does_not_validate_is_dead_lettered_without_quoting_it(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    secret = "ada-1815-12-10"
    records = [event_record("x", 1, {"n": secret}), event_record("y", 1)]
    await produce(settings.bootstrap_servers, fresh_topic, records)
    await consume_everything(projection, settings, fresh_topic)
    rows = await projection.rows(settings.database_url)
    assert [(a, v) for _, a, v in rows] == [("y", 1)]
    (dead,) = await read_all(settings.bootstrap_servers, f"{fresh_topic}.dlq")
    headers = dict(dead.headers)
    assert headers["dlq_exception"] == b"ValidationError"
    assert headers["dlq_error"] == b"ValidationError: n: int_parsing"
    assert all(secret.encode() not in v for k, v in headers.items() if k.startswith("dlq_"))


async def test_a_type_the_projection_does_not_handle_is_not_given_to_it_but_keeps_the_order(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    projection = CountingProjection(fresh_topic, settings.schema)
    records = [
        event_record("x", 1),
        # Not even validated: the projection has no use for it.
        event_record("x", 2, {"name": None}, type_name=ThingRenamed.type_name),
        event_record("x", 3),
    ]
    await produce(settings.bootstrap_servers, fresh_topic, records)
    await consume_everything(projection, settings, fresh_topic)
    rows = await projection.rows(settings.database_url)
    assert [(a, v) for _, a, v in rows] == [("x", 1), ("x", 3)]
    assert await read_all(settings.bootstrap_servers, f"{fresh_topic}.dlq") == []
