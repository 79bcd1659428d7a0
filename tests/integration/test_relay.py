"""The outbox relay over real PostgreSQL and the real Kafka protocol."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_contacts.application import SCHEMA
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.relay import Relay
from crm_shared.messaging.topics import ensure_topics
from crm_shared.privacy.cipher import reveal, sealed_data_subjects
from tests.conftest import free_port
from tests.integration.helpers import contact_events, store_for
from tests.integration.kafka_tools import read_all


def make_relay(
    store, database_url: str, bootstrap: str, topic: str, batch_size: int = 100
) -> Relay:  # type: ignore[no-untyped-def]
    return Relay(
        service="contacts",
        topic=topic,
        recorder=store.crm_recorder,
        database_url=database_url,
        schema=SCHEMA,
        bootstrap_servers=bootstrap,
        batch_size=batch_size,
        poll_seconds=0.05,
    )


async def wait_for(predicate, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Until the predicate holds. Each ask is bounded too: reading a broker that has just
    restarted can hang the reader itself (seen once in 1,500 tests), which would be the
    test's tooling failing, not the relay."""
    deadline = time.monotonic() + within
    while True:
        try:
            if await asyncio.wait_for(predicate(), max(1.0, deadline - time.monotonic())):
                return
        except TimeoutError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_every_stored_event_is_published_once_in_aggregate_order_as_a_cloudevent(
    fresh_database: str, fresh_topic: str, kafka: EmbeddedKafka
) -> None:
    store = await asyncio.to_thread(store_for, fresh_database)
    events = contact_events(30, updates=2)
    await asyncio.to_thread(store.append, events)
    relay = make_relay(store, fresh_database, kafka.bootstrap_servers, fresh_topic, batch_size=25)
    await relay.start()
    try:
        await wait_for(lambda: _published(kafka, fresh_topic, len(events)))
    finally:
        await relay.stop()
        store.close()
    records = await read_all(kafka.bootstrap_servers, fresh_topic)
    assert len(records) == len(events)
    by_id = {str(e.id): e for e in events}
    versions: dict[str, list[int]] = {}
    for record in records:
        cloud_event = from_binary_event(
            KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
        )
        original = by_id[cloud_event.get_id()]
        assert cloud_event.get_subject() == str(original.originator_id) == record.key.decode()
        assert cloud_event.get_type() == original.data.type_name
        assert cloud_event.get_extension("actor") == "user:test"
        personal = original.data.personal_fields()
        keys = store.keyring.lookup(sealed_data_subjects(cloud_event.get_data(), personal))
        opened = reveal(cloud_event.get_data(), personal, keys)
        assert opened == original.data.model_dump(mode="json")
        versions.setdefault(cloud_event.get_subject(), []).append(
            int(cloud_event.get_extension("sequence"))
        )
    assert all(v == [1, 2, 3] for v in versions.values()), "one aggregate's events stay in order"


async def _published(kafka: EmbeddedKafka, topic: str, expected: int) -> bool:
    return len(await read_all(kafka.bootstrap_servers, topic, timeout_ms=100)) >= expected


async def test_a_relay_that_dies_after_publishing_but_before_recording_loses_nothing(
    fresh_database: str, fresh_topic: str, kafka: EmbeddedKafka
) -> None:
    store = await asyncio.to_thread(store_for, fresh_database)
    events = contact_events(50)
    await asyncio.to_thread(store.append, events)

    class DiesBeforeRecording(Relay):
        def _save_position(self) -> None:
            if self.position > 0:
                raise RuntimeError("power cut")
            super()._save_position()

    dying = make_relay(store, fresh_database, kafka.bootstrap_servers, fresh_topic, batch_size=20)
    dying.__class__ = DiesBeforeRecording
    await dying.open()
    with pytest.raises(RuntimeError):
        await dying.publish_once()
    await dying.stop()

    survivor = make_relay(
        store, fresh_database, kafka.bootstrap_servers, fresh_topic, batch_size=20
    )
    await survivor.start()
    try:
        await wait_for(lambda: _published(kafka, fresh_topic, len(events) + 20))
    finally:
        await survivor.stop()
        store.close()
    records = await read_all(kafka.bootstrap_servers, fresh_topic)
    published_ids = {dict(r.headers)["ce_id"].decode() for r in records}
    assert published_ids == {str(e.id) for e in events}
    assert len(records) == len(events) + 20, "exactly the unrecorded batch went out twice"


async def test_the_relay_publishes_new_events_as_they_are_stored(
    fresh_database: str, fresh_topic: str, kafka: EmbeddedKafka
) -> None:
    store = await asyncio.to_thread(store_for, fresh_database)
    relay = make_relay(store, fresh_database, kafka.bootstrap_servers, fresh_topic)
    await relay.start()
    try:
        for round_ in range(3):
            await asyncio.to_thread(store.append, contact_events(5))
            relay.wake()
            await wait_for(lambda r=round_: _published(kafka, fresh_topic, 5 * (r + 1)))
    finally:
        await relay.stop()
        store.close()


async def test_an_empty_broker_makes_the_relay_publish_everything_again(
    fresh_database: str, tmp_path: Path
) -> None:
    topic = f"test.{uuid.uuid4().hex[:8]}.events"
    store = await asyncio.to_thread(store_for, fresh_database)
    await asyncio.to_thread(store.append, contact_events(20))
    broker = EmbeddedKafka(free_port(), log_file=tmp_path / "tansu.log")
    broker.start()
    try:
        await ensure_topics(broker.bootstrap_servers, 4, [topic])
        relay = make_relay(store, fresh_database, broker.bootstrap_servers, topic)
        await relay.start()
        await wait_for(lambda: _published(broker, topic, 20))
        await relay.stop()

        # The broker restarts empty (the embedded one keeps messages in memory).
        broker.stop()
        broker.start()
        await ensure_topics(broker.bootstrap_servers, 4, [topic])
        await asyncio.to_thread(store.append, contact_events(5))
        restarted = make_relay(store, fresh_database, broker.bootstrap_servers, topic)
        await restarted.start()
        await wait_for(lambda: _published(broker, topic, 25))
        await restarted.stop()
        records = await read_all(broker.bootstrap_servers, topic)
        assert len({dict(r.headers)["ce_id"] for r in records}) == 25
    finally:
        broker.stop()
        store.close()


async def test_a_broker_that_empties_while_the_relay_runs_gets_everything_again(
    fresh_database: str, tmp_path: Path
) -> None:
    topic = f"test.{uuid.uuid4().hex[:8]}.events"
    store = await asyncio.to_thread(store_for, fresh_database)
    await asyncio.to_thread(store.append, contact_events(40))
    broker = EmbeddedKafka(free_port(), log_file=tmp_path / "tansu.log")
    broker.start()
    try:
        await ensure_topics(broker.bootstrap_servers, 1, [topic])
        relay = make_relay(store, fresh_database, broker.bootstrap_servers, topic)
        await relay.start()
        await wait_for(lambda: _published(broker, topic, 40))
        broker.stop()
        broker.start()
        await ensure_topics(broker.bootstrap_servers, 1, [topic])
        await asyncio.to_thread(store.append, contact_events(3))
        relay.wake()
        await wait_for(lambda: _published(broker, topic, 43), within=40)
        await relay.stop()
        records = await read_all(broker.bootstrap_servers, topic)
        assert len({dict(r.headers)["ce_id"] for r in records}) == 43
    finally:
        broker.stop()
        store.close()


async def test_an_idle_relay_notices_a_broker_that_lost_its_data_and_publishes_everything_again(
    fresh_database: str, tmp_path: Path
) -> None:
    topic = f"test.{uuid.uuid4().hex[:8]}.events"
    store = await asyncio.to_thread(store_for, fresh_database)
    await asyncio.to_thread(store.append, contact_events(10))
    broker = EmbeddedKafka(free_port(), log_file=tmp_path / "tansu.log")
    broker.start()
    try:
        await ensure_topics(broker.bootstrap_servers, 2, [topic])
        relay = make_relay(store, fresh_database, broker.bootstrap_servers, topic)
        relay.broker_check_seconds = 0.2
        await relay.start()
        await wait_for(lambda: _published(broker, topic, 10))
        broker.stop()
        broker.start()
        await ensure_topics(broker.bootstrap_servers, 2, [topic])
        # No new command: the relay finds out by itself.
        await wait_for(lambda: _published(broker, topic, 10), within=40)
        await relay.stop()
    finally:
        broker.stop()
        store.close()


async def test_of_two_relays_on_one_store_only_one_publishes_and_the_other_takes_over(
    fresh_database: str, fresh_topic: str, kafka: EmbeddedKafka
) -> None:
    store = await asyncio.to_thread(store_for, fresh_database)
    await asyncio.to_thread(store.append, contact_events(10))
    first = make_relay(store, fresh_database, kafka.bootstrap_servers, fresh_topic)
    second = make_relay(store, fresh_database, kafka.bootstrap_servers, fresh_topic)
    second.standby_seconds = 0.1
    await first.start()
    await second.start()
    try:
        assert first.leading and not second.leading
        await wait_for(lambda: _published(kafka, fresh_topic, 10))
        await first.stop()  # the leader goes away; the standby takes over
        await asyncio.to_thread(store.append, contact_events(5))
        second.wake()
        await wait_for(lambda: _published(kafka, fresh_topic, 15))
        assert second.leading
    finally:
        await second.stop()
        store.close()
    records = await read_all(kafka.bootstrap_servers, fresh_topic)
    assert len(records) == 15, "no event was published twice"


async def test_the_relay_runs_on_its_own_for_a_service(
    fresh_database: str, kafka: EmbeddedKafka
) -> None:
    from crm_contacts.main import SERVICE
    from crm_shared.service import load
    from crm_shared.settings import Settings

    store = await asyncio.to_thread(store_for, fresh_database)
    events = contact_events(3)
    await asyncio.to_thread(store.append, events)
    store.close()
    assert SERVICE.relay is not None
    settings = Settings(
        embedded=True, database_url=fresh_database, kafka_bootstrap_servers=kafka.bootstrap_servers
    )
    relay = await asyncio.to_thread(load(SERVICE.relay), settings)
    await relay.start()
    wanted = {str(e.id) for e in events}

    async def published() -> bool:
        records = await read_all(kafka.bootstrap_servers, "crm.contacts.events", timeout_ms=100)
        return wanted <= {dict(r.headers)["ce_id"].decode() for r in records}

    try:
        await wait_for(published)
    finally:
        await relay.stop()


async def test_an_event_appended_by_another_process_wakes_the_relay_without_a_poll(
    fresh_database: str, fresh_topic: str, kafka: EmbeddedKafka
) -> None:
    relay_store, other_process = [await asyncio.to_thread(store_for, fresh_database) for _ in "ab"]
    relay = make_relay(relay_store, fresh_database, kafka.bootstrap_servers, fresh_topic)
    relay.poll_seconds = 3600.0  # only a notification can wake it within the test
    await relay.start()
    try:
        await wait_for(lambda: _listening(fresh_database, relay.channel))
        events = contact_events(3)
        # Stored through another application: nothing in this process calls relay.wake().
        await asyncio.to_thread(other_process.append, events)
        await wait_for(lambda: _published(kafka, fresh_topic, len(events)))
    finally:
        await relay.stop()
        relay_store.close()
        other_process.close()


async def _listening(database_url: str, channel: str) -> bool:
    """Whether some session's last statement was a LISTEN on the channel."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE %s", (f"LISTEN%{channel}%",)
        )
        found = await cursor.fetchone()
    return bool(found and found[0])
