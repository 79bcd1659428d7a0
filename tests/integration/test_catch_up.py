"""Catching up (how a rebuild reads) fetches and decodes a batch while the one before is
applied: it must keep every guarantee the running consumer keeps, over the real broker
and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.consumer import CHECK_ATTEMPTS, ConsumerSettings
from crm_shared.messaging.log_check import Expected, LogUnavailable, LogVerifier
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


class SlowBroker:
    """The log check as a busy broker answers it: not in time, ``unanswered`` times, then
    as the real broker answers."""

    def __init__(self, verifier: LogVerifier, unanswered: int) -> None:
        self.answer, self.unanswered = verifier.diverged, unanswered
        verifier.diverged = self.diverged  # type: ignore[method-assign]

    async def diverged(self, expectations: dict[Any, list[Expected]]) -> Any:
        if expectations and self.unanswered > 0:
            self.unanswered -= 1
            raise LogUnavailable("the broker did not answer the check (TimeoutError)")
        return await self.answer(expectations)


async def test_a_catch_up_asks_again_when_the_broker_is_too_slow_to_answer_the_check(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    stream = [event_record(f"agg-{a}", v) for v in (1, 2, 3) for a in range(4)]
    await produce(settings.bootstrap_servers, fresh_topic, stream)
    projection = CountingProjection(fresh_topic, settings.schema)
    consumer = consumer_of(projection, settings)
    slow = SlowBroker(consumer._verifier, unanswered=CHECK_ATTEMPTS - 1)

    assert await consumer.catch_up() == len(stream)
    applied, _, _ = await _outcome(projection, settings, fresh_topic)
    assert all(applied[f"agg-{a}"] == [1, 2, 3] for a in range(4))
    assert slow.unanswered == 0


async def test_a_catch_up_resuming_from_its_offsets_asks_again_when_the_broker_is_too_slow(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    """Taking partitions back at stored offsets checks the log there first (a rebuild's
    second pass does): a broker too slow to answer it is asked again, not given up on."""
    first = [event_record(f"agg-{a}", 1) for a in range(4)]
    await produce(settings.bootstrap_servers, fresh_topic, first)
    projection = CountingProjection(fresh_topic, settings.schema)
    assert await consumer_of(projection, settings).catch_up() == len(first)
    more = [event_record(f"agg-{a}", 2) for a in range(4)]
    await produce(settings.bootstrap_servers, fresh_topic, more)

    resumed = consumer_of(projection, settings)
    slow = SlowBroker(resumed._verifier, unanswered=CHECK_ATTEMPTS - 1)
    assert await resumed.catch_up() == len(more)
    applied, _, _ = await _outcome(projection, settings, fresh_topic)
    assert all(applied[f"agg-{a}"] == [1, 2] for a in range(4))
    assert slow.unanswered == 0


async def test_a_catch_up_gives_up_on_a_broker_that_never_answers_and_applies_nothing_unchecked(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    stream = [event_record(f"agg-{a}", v) for v in (1, 2, 3, 4) for a in range(8)]
    await produce(settings.bootstrap_servers, fresh_topic, stream)
    projection = CountingProjection(fresh_topic, settings.schema)
    consumer = consumer_of(projection, settings)
    SlowBroker(consumer._verifier, unanswered=CHECK_ATTEMPTS)

    with pytest.raises(LogUnavailable):
        await consumer.catch_up()
    # Only a partition's first batch (nothing read there before it to check) may have
    # been applied: the topic has four partitions. Everything after is unapplied.
    assert len(projection.received) <= 4 * settings.batch_size < len(stream)
