"""A read model keeps the last version it applied of each aggregate *of a topic*: two
services may each have an aggregate with the same id, and one read model may read both."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from psycopg import AsyncConnection

from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.consumer import ConsumerSettings, ConsumerState
from crm_shared.messaging.topics import ensure_topics
from tests.integration.kafka_tools import read_all
from tests.integration.test_consumer import (
    CountingProjection,
    aggregate,
    consumer_of,
    event_record,
    produce,
    until,
)


@pytest.fixture
def settings(fresh_database: str, kafka: EmbeddedKafka) -> ConsumerSettings:
    return ConsumerSettings(kafka.bootstrap_servers, fresh_database, "readmodel", poll_ms=20)


async def another_topic(kafka: EmbeddedKafka) -> str:
    topic = f"test.{uuid.uuid4().hex[:12]}.events"
    await ensure_topics(kafka.bootstrap_servers, 4, [topic, f"{topic}.dlq"])
    return topic


def reading(topics: Sequence[str], schema: str) -> CountingProjection:
    projection = CountingProjection(topics[0], schema)
    projection.topics = tuple(topics)
    return projection


async def consume_all_of(projection: CountingProjection, settings: ConsumerSettings) -> None:
    consumer = consumer_of(projection, settings)
    await consumer.start()

    async def everything_applied() -> bool:
        for topic in projection.topics:
            total = len(await read_all(settings.bootstrap_servers, topic, timeout_ms=50))
            if sum(o for (t, _), o in consumer.applied_through.items() if t == topic) < total:
                return False
        return True

    try:
        await until(everything_applied)
    finally:
        await consumer.stop()


async def test_aggregates_with_the_same_id_on_two_topics_are_each_applied(
    settings: ConsumerSettings,
    fresh_topic: str,
    kafka: EmbeddedKafka,
) -> None:
    contacts, marketing = fresh_topic, await another_topic(kafka)
    # A marketing record kept under its contact's id: both are version 1, then 2.
    await produce(kafka.bootstrap_servers, contacts, [event_record("ann", 1)])
    await produce(
        kafka.bootstrap_servers, marketing, [event_record("ann", 1), event_record("ann", 2)]
    )
    projection = reading([contacts, marketing], settings.schema)

    await consume_all_of(projection, settings)

    applied = sorted((e.topic, e.version) for e in projection.received)
    assert applied == sorted([(contacts, 1), (marketing, 1), (marketing, 2)])


async def old_versions_table(
    database_url: str, schema: str, rows: list[tuple[str, str, int]]
) -> None:
    """The table in which versions were kept per aggregate id alone, before."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE "{schema}".applied_versions ('
            " consumer text, aggregate_id text, version bigint NOT NULL,"
            " PRIMARY KEY (consumer, aggregate_id))"
        )
        await record_as_before(database_url, schema, rows)


async def record_as_before(
    database_url: str, schema: str, rows: list[tuple[str, str, int]]
) -> None:
    """What a replica of the earlier code wrote after each batch (its very statement)."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        for consumer, aggregate_id, version in rows:
            await conn.execute(
                f'INSERT INTO "{schema}".applied_versions (consumer, aggregate_id, version)'
                " SELECT %s, * FROM unnest(%b::text[], %b::bigint[])"
                " ON CONFLICT (consumer, aggregate_id) DO UPDATE SET version = excluded.version",
                (consumer, [aggregate_id], [version]),
            )


async def test_versions_applied_before_they_were_kept_per_topic_still_count(
    settings: ConsumerSettings,
    fresh_topic: str,
    kafka: EmbeddedKafka,
) -> None:
    projection = reading([fresh_topic], settings.schema)
    await old_versions_table(
        settings.database_url, settings.schema, [(projection.name, aggregate("bob"), 2)]
    )
    # Versions 1 and 2 were applied before the upgrade (a re-publish brings them again).
    await produce(
        kafka.bootstrap_servers,
        fresh_topic,
        [event_record("bob", 1), event_record("bob", 2), event_record("bob", 3)],
    )

    await consume_all_of(projection, settings)

    assert [(e.topic, e.version) for e in projection.received] == [(fresh_topic, 3)]


async def test_during_a_rolling_update_a_replica_of_the_earlier_code_still_applies_and_is_heeded(
    settings: ConsumerSettings,
    fresh_topic: str,
    kafka: EmbeddedKafka,
) -> None:
    projection = reading([fresh_topic], settings.schema)
    await old_versions_table(settings.database_url, settings.schema, [])
    await consume_all_of(projection, settings)  # the new code has set up beside it
    # The earlier replica, still running, applies cy 1 to 4 and records it its way.
    await record_as_before(
        settings.database_url, settings.schema, [(projection.name, aggregate("cy"), 4)]
    )
    # Then the partition comes to the new code, with a re-publish of 4 and a new 5.
    await produce(
        kafka.bootstrap_servers, fresh_topic, [event_record("cy", 4), event_record("cy", 5)]
    )

    await consume_all_of(projection, settings)

    assert [e.version for e in projection.received] == [5]


async def test_replicas_setting_up_at_once_all_start(
    settings: ConsumerSettings,
    fresh_topic: str,
) -> None:
    projections = [reading([fresh_topic], settings.schema) for _ in range(3)]
    consumers = [consumer_of(p, settings) for p in projections]
    await asyncio.gather(*(c.setup() for c in consumers))
    async with await AsyncConnection.connect(settings.database_url) as conn:
        for projection in projections:
            state = ConsumerState(settings.schema, projection.name)
            assert await state.generation(conn) == 1
