"""Catching up (how a rebuild reads) fetches and decodes a batch while the one before is
applied: it must keep every guarantee the running consumer keeps, over the real broker
and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict

import pytest

from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.consumer import ConsumerSettings
from crm_shared.messaging.topics import dead_letter_topic
from tests.integration.kafka_tools import read_all
from tests.integration.test_consumer import (
    NAMES,
    CountingProjection,
    consume_everything,
    consumer_of,
    event_record,
    produce,
)


@pytest.fixture
def settings(fresh_database: str, kafka: EmbeddedKafka) -> ConsumerSettings:
    # Small batches: many of them, so that many are fetched while another is applied.
    return ConsumerSettings(
        kafka.bootstrap_servers,
        fresh_database,
        schema="readmodel",
        batch_size=3,
        max_retries=1,
        poll_ms=20,
        retry_backoff_seconds=0.01,
    )


def _stream() -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """Six aggregates of four events each; one whose 3 comes before its 2, one whose 2 the
    projection fails on, and a record that does not decode."""
    records = [event_record(f"agg-{a}", v) for v in (1, 2, 3, 4) for a in range(6)]
    records += [event_record("swapped", 1), event_record("swapped", 3)]
    records += [event_record("swapped", 2)]
    records += [event_record("failing", 1), event_record("failing", 2, {"poison": True})]
    records += [event_record("failing", 3)]
    records += [(b"k", b"not json at all", [("ce_type", b"what")])]
    return records


async def _outcome(
    projection: CountingProjection, settings: ConsumerSettings, topic: str
) -> tuple[dict[str, list[int]], list[tuple[str, str, int]], int]:
    """Each aggregate's versions in the order applied, the stored rows, and the dead
    letters this projection sent."""
    applied: dict[str, list[int]] = defaultdict(list)
    for event in projection.received:
        applied[NAMES[str(event.aggregate_id)]].append(event.version)
    letters = await read_all(settings.bootstrap_servers, dead_letter_topic(topic))
    sent = sum(
        1 for r in letters if dict(r.headers).get("dlq_consumer") == projection.name.encode()
    )
    return dict(applied), await projection.rows(settings.database_url), sent


async def test_catching_up_in_small_batches_applies_what_the_running_consumer_applies(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    stream = _stream()
    await produce(settings.bootstrap_servers, fresh_topic, stream)
    await produce(settings.bootstrap_servers, fresh_topic, stream)  # a re-publish

    caught_up = CountingProjection(fresh_topic, settings.schema)
    read = await consumer_of(caught_up, settings).catch_up()
    running = CountingProjection(fresh_topic, settings.schema)
    await consume_everything(running, settings, fresh_topic)

    assert read == 2 * len(stream)
    applied, rows, dead_letters = await _outcome(caught_up, settings, fresh_topic)
    assert all(applied[f"agg-{a}"] == [1, 2, 3, 4] for a in range(6))
    assert applied["swapped"] == [1, 2, 3]  # 3 parked, then applied from the re-publish
    assert applied["failing"] == [1]  # 2 dead-lettered, 3 parked behind it
    assert dead_letters == 4  # the failing event and the undecodable record, each time read
    running_applied, running_rows, running_dead_letters = await _outcome(
        running, settings, fresh_topic
    )
    assert (applied, rows, dead_letters) == (running_applied, running_rows, running_dead_letters)
