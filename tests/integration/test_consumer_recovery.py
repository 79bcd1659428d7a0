"""The consumer never skips an event, whatever the broker does to its log, and never
writes a value of the data into a dead letter or a log line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from psycopg import AsyncConnection

from crm_shared.events import EventData, ReceivedEvent
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.consumer import ConsumerSettings, ConsumerState, ProjectionConsumer
from crm_shared.messaging.dead_letters import read_dead_letters, redrive, still_pending
from crm_shared.messaging.topics import ensure_topics
from crm_shared.privacy.key_client import KeyServiceUnavailable
from tests.conftest import free_port
from tests.integration.kafka_tools import read_all
from tests.integration.test_consumer import (
    CountingProjection,
    ThingChanged,
    aggregate,
    consume_everything,
    consumer_of,
    event_record,
    produce,
    until,
)

TOPIC = "crm.recovery.events"


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[EmbeddedKafka]:
    """A broker of the test's own, which it may kill and start again empty."""
    broker = EmbeddedKafka(free_port(), log_file=tmp_path / "tansu.log")
    broker.start()
    await ensure_topics(broker.bootstrap_servers, 1, [TOPIC, f"{TOPIC}.dlq"])
    yield broker
    broker.stop()


async def restart_empty(broker: EmbeddedKafka) -> None:
    broker.stop()
    broker.start()
    await ensure_topics(broker.bootstrap_servers, 1, [TOPIC, f"{TOPIC}.dlq"])


def settings_for(database_url: str, broker: EmbeddedKafka) -> ConsumerSettings:
    return ConsumerSettings(
        bootstrap_servers=broker.bootstrap_servers,
        database_url=database_url,
        schema="readmodel",
        batch_size=100,
        max_retries=1,
        poll_ms=20,
        retry_backoff_seconds=0.01,
        generation_check_seconds=0.1,
    )


async def applied(projection: CountingProjection, database_url: str) -> set[tuple[str, int]]:
    return {(a, v) for _, a, v in await projection.rows(database_url)}


async def test_a_broker_that_comes_back_with_a_shorter_log_while_the_consumer_runs_loses_nothing(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    settings = settings_for(fresh_database, own_broker)
    projection = CountingProjection(TOPIC, settings.schema)
    first = {name: event_record(name, 1) for name in ("a", "b", "c", "d", "e")}
    # The old log holds a duplicate (a relay re-published a batch): it is one record longer
    # than the log the relay writes after the broker lost everything.
    old_log = [first["a"], first["a"], first["b"], first["c"]]
    await produce(own_broker.bootstrap_servers, TOPIC, old_log)
    consumer = consumer_of(projection, settings)
    await consumer.start()
    try:
        await until(lambda: _at(consumer, 4))
        await restart_empty(own_broker)
        # The relay re-publishes everything, and new events follow: "d" lands at offset 3,
        # below the consumer's old position 4.
        await produce(
            own_broker.bootstrap_servers,
            TOPIC,
            [first["a"], first["b"], first["c"], first["d"], first["e"]],
        )

        async def everything_applied() -> bool:
            return await applied(projection, fresh_database) == {
                ("a", 1),
                ("b", 1),
                ("c", 1),
                ("d", 1),
                ("e", 1),
            }

        await until(everything_applied, within=30)
    finally:
        await consumer.stop()
    assert len(await projection.rows(fresh_database)) == 5  # and nothing twice


async def test_a_batch_whose_data_keys_cannot_be_had_is_applied_later_and_once(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    """Decoding (which asks the key endpoint) runs beside the log check: when it fails,
    the check is let finish, nothing is applied and the batch is read again."""
    settings = settings_for(fresh_database, own_broker)
    projection = CountingProjection(TOPIC, settings.schema)
    await produce(own_broker.bootstrap_servers, TOPIC, [event_record("a", 1)])
    await consume_everything(projection, settings, TOPIC)  # an anchor for the check
    await produce(own_broker.bootstrap_servers, TOPIC, [event_record("b", 1), event_record("c", 1)])
    consumer = consumer_of(projection, settings)
    decode = consumer.decoder.decode
    attempts = 0

    async def keys_unreachable_once(records):  # type: ignore[no-untyped-def]
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise KeyServiceUnavailable("the key endpoint did not answer")
        return await decode(records)

    consumer.decoder.decode = keys_unreachable_once  # type: ignore[method-assign]
    await consumer.open()
    try:
        with pytest.raises(KeyServiceUnavailable):
            while not await consumer._poll_once():
                pass
        assert consumer.applied_through[(TOPIC, 0)] == 1
        assert await applied(projection, fresh_database) == {("a", 1)}
        await consumer._assign()  # what the running loop does after a failure
        while consumer.applied_through[(TOPIC, 0)] < 3:
            await consumer._poll_once()
    finally:
        await consumer.stop()
    assert await applied(projection, fresh_database) == {("a", 1), ("b", 1), ("c", 1)}
    assert len(await projection.rows(fresh_database)) == 3


async def _at(consumer: ProjectionConsumer, offset: int) -> bool:
    return consumer.applied_through.get((TOPIC, 0), 0) >= offset


async def test_a_consumer_started_on_a_different_log_of_the_same_length_reads_it_again(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    settings = settings_for(fresh_database, own_broker)
    projection = CountingProjection(TOPIC, settings.schema)
    a, b, c = event_record("a", 1), event_record("b", 1), event_record("c", 1)
    await produce(own_broker.bootstrap_servers, TOPIC, [a, a, b])
    await consume_everything(projection, settings, TOPIC)
    await restart_empty(own_broker)
    # As long as the old one, so its end offset alone cannot tell: only the anchor can.
    await produce(own_broker.bootstrap_servers, TOPIC, [a, b, c])
    await consume_everything(projection, settings, TOPIC)
    assert await applied(projection, fresh_database) == {("a", 1), ("b", 1), ("c", 1)}


async def test_an_event_published_before_an_earlier_one_of_its_aggregate_waits_for_it(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    # A produce request that failed while a later one succeeded, then the relay's retry:
    # version 2 arrives first, then 1, then 2 again.
    settings = settings_for(fresh_database, own_broker)
    projection = CountingProjection(TOPIC, settings.schema)
    one, two = event_record("x", 1), event_record("x", 2)
    await produce(own_broker.bootstrap_servers, TOPIC, [two, one, two])
    await consume_everything(projection, settings, TOPIC)
    rows = await projection.rows(fresh_database)
    assert [(a, v) for _, a, v in rows] == [("x", 1), ("x", 2)]


class QuotingProjection(CountingProjection):
    """Fails the way PostgreSQL does: with an error that quotes the data."""

    async def apply(
        self,
        conn: AsyncConnection,  # type: ignore[type-arg]
        events: Sequence[ReceivedEvent[EventData]],
    ) -> None:
        for event in events:
            match event.data:
                case ThingChanged(birthday=str(birthday)):
                    # PostgreSQL quotes the refused value in its message.
                    await conn.execute("SELECT %s::date", (birthday,))
        await super().apply(conn, events)


async def test_a_dead_letter_and_the_log_name_the_failure_without_quoting_the_data(
    fresh_database: str, own_broker: EmbeddedKafka, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(fresh_database, own_broker)
    projection = QuotingProjection(TOPIC, settings.schema)
    secret = "1815-12-10-ada"
    await produce(
        own_broker.bootstrap_servers,
        TOPIC,
        [event_record("p", 1, {"birthday": secret}), event_record("q", 1)],
    )
    with caplog.at_level(logging.INFO):
        await consume_everything(projection, settings, TOPIC)
    (dead,) = await read_all(own_broker.bootstrap_servers, f"{TOPIC}.dlq")
    headers = dict(dead.headers)
    assert headers["dlq_exception"] == b"InvalidDatetimeFormat"
    assert b"SQLSTATE 22007" in headers["dlq_error"]
    for name, value in headers.items():
        if name.startswith("dlq_"):
            assert secret.encode() not in value, name
    assert secret not in caplog.text
    assert "invalid input syntax" not in caplog.text  # nor the message that quotes it
    assert await applied(projection, fresh_database) == {("q", 1)}


async def test_an_idle_consumer_notices_that_its_read_model_was_reset(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    settings = settings_for(fresh_database, own_broker)
    projection = CountingProjection(TOPIC, settings.schema)
    await produce(own_broker.bootstrap_servers, TOPIC, [event_record(f"a{i}", 1) for i in range(3)])
    consumer = consumer_of(projection, settings)
    await consumer.start()
    try:
        await until(lambda: _at(consumer, 3))
        async with await AsyncConnection.connect(fresh_database) as conn, conn.transaction():
            await ConsumerState(settings.schema, projection.name).reset(conn)
            await projection.drop(conn)

        async def rebuilt() -> bool:
            return len(await projection.rows(fresh_database)) == 3

        await until(rebuilt)  # with no new event to wake it
    finally:
        await consumer.stop()


async def test_the_consumer_says_it_is_catching_up_until_it_reaches_the_end(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    settings = settings_for(fresh_database, own_broker)
    settings.batch_size = 10
    projection = CountingProjection(TOPIC, settings.schema)
    await produce(
        own_broker.bootstrap_servers, TOPIC, [event_record(f"a{i}", 1) for i in range(50)]
    )
    consumer = consumer_of(projection, settings)
    await consumer.open()
    try:
        # Not one event applied; how many are left is not known before the broker says.
        assert consumer.status()["status"] == "catching_up"
        assert consumer.status()["events_behind"] in (None, 50)
        statuses: dict[int, dict[str, object]] = {}
        while consumer.applied_through.get((TOPIC, 0), 0) < 50:
            # A poll may end before the broker's first answer (nothing applied, end unknown).
            await consumer._poll_once()
            statuses[consumer.applied_through.get((TOPIC, 0), 0)] = consumer.status()
        assert statuses[10] == {"status": "catching_up", "events_behind": 40}
        await consumer._poll_once()
        assert consumer.status() == {"status": "ok", "events_behind": 0}
    finally:
        await consumer.stop()
    await asyncio.sleep(0)


class FlakyProjection(CountingProjection):
    """Fails on events marked "fragile" until the cause is fixed (a row in a table)."""

    async def setup(self, conn: AsyncConnection) -> None:  # type: ignore[type-arg]
        await super().setup(conn)
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table}_broken (yes bool)")  # type: ignore[arg-type]
        await conn.execute(f"INSERT INTO {self.table}_broken VALUES (true)")  # type: ignore[arg-type]

    async def apply(
        self,
        conn: AsyncConnection,  # type: ignore[type-arg]
        events: Sequence[ReceivedEvent[EventData]],
    ) -> None:
        cur = await conn.execute(f"SELECT count(*) FROM {self.table}_broken")  # type: ignore[arg-type]
        broken = (await cur.fetchone() or (0,))[0]
        if broken and any(isinstance(e.data, ThingChanged) and e.data.fragile for e in events):
            raise RuntimeError("the cause, not yet fixed")
        await super().apply(conn, events)

    async def fix(self, database_url: str) -> None:
        async with await AsyncConnection.connect(database_url) as conn:
            await conn.execute(f"DELETE FROM {self.table}_broken")  # type: ignore[arg-type]
            await conn.commit()


async def test_a_redriven_dead_letter_is_applied_with_the_events_parked_behind_it(
    fresh_database: str, own_broker: EmbeddedKafka
) -> None:
    settings = settings_for(fresh_database, own_broker)
    projection = FlakyProjection(TOPIC, settings.schema)
    records = [
        event_record("x", 1),
        event_record("x", 2, {"fragile": True}),
        event_record("y", 1),
        event_record("x", 3),
    ]
    await produce(own_broker.bootstrap_servers, TOPIC, records)
    consumer = consumer_of(projection, settings)
    await consumer.start()
    try:
        await until(lambda: _at(consumer, 4))
        assert await applied(projection, fresh_database) == {("x", 1), ("y", 1)}
        letters = await read_dead_letters(own_broker.bootstrap_servers, [f"{TOPIC}.dlq"])
        assert [(d.aggregate_id, d.version, d.offset) for d in letters] == [(aggregate("x"), 2, 1)]
        assert [p for _, p in await still_pending(letters, fresh_database, "readmodel")] == [True]

        await projection.fix(fresh_database)
        (rewind,) = await redrive(
            letters, own_broker.bootstrap_servers, fresh_database, settings.schema
        )
        assert (rewind.partition, rewind.to_offset) == (0, 1)

        async def all_of_x() -> bool:
            return await applied(projection, fresh_database) == {
                ("x", 1),
                ("x", 2),
                ("x", 3),
                ("y", 1),
            }

        await until(all_of_x)
    finally:
        await consumer.stop()
    assert len(await projection.rows(fresh_database)) == 4  # y not applied twice
    assert [p for _, p in await still_pending(letters, fresh_database, "readmodel")] == [False]
    assert await redrive(letters, own_broker.bootstrap_servers, fresh_database, "readmodel") == []
