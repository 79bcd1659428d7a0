"""Dead letters: what a consumer could not apply, listed and redriven by an operator.

A dead-lettered event is not lost: it stays on its topic, and its aggregate is parked at
the version before it (see ``consumer_state``). Once the cause is fixed (a bug, a full
disk), a redrive moves the consumer's stored position back to the earliest dead letter of
each partition and tells the running consumer to reposition; it reads forward from there,
applied versions skip what it already has, and the parked aggregates catch up in order.
Nothing is re-published, so other subscribers see nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from psycopg import AsyncConnection

from crm_shared.messaging.consumer_state import ConsumerState
from crm_shared.messaging.log_check import Expected, LogVerifier, fingerprint


@dataclass(frozen=True, slots=True)
class DeadLetter:
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    consumer: str
    topic: str
    partition: int
    offset: int
    event_type: str | None
    aggregate_id: str | None
    version: int | None
    error: str
    fingerprint: bytes

    @property
    def redrivable(self) -> bool:
        """A record that is not one of our events would only fail again."""
        return self.aggregate_id is not None and self.version is not None


def _dead_letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in record.headers}
    version = headers.get("ce_sequence")
    return DeadLetter(
        dlq_topic=record.topic,
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        consumer=headers.get("dlq_consumer", "?"),
        topic=headers.get("dlq_original_topic", "?"),
        partition=int(headers.get("dlq_original_partition", "-1")),
        offset=int(headers.get("dlq_original_offset", "-1")),
        event_type=headers.get("ce_type"),
        aggregate_id=headers.get("ce_subject"),
        version=int(version) if version and version.isdigit() else None,
        error=headers.get("dlq_error", ""),
        fingerprint=fingerprint(record),
    )


async def read_dead_letters(bootstrap_servers: str, dlq_topics: list[str]) -> list[DeadLetter]:
    """Every record on the given dead-letter topics, oldest first."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        existing = await consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in dlq_topics
            if topic in existing
            for p in sorted(consumer.partitions_for_topic(topic) or [])
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[DeadLetter] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [_dead_letter(r) for r in records]
        return found
    finally:
        await consumer.stop()


async def still_pending(
    dead_letters: list[DeadLetter], database_url: str, schema: str
) -> list[tuple[DeadLetter, bool]]:
    """Each dead letter, and whether its consumer has still not applied that event."""
    by_consumer: dict[str, list[DeadLetter]] = defaultdict(list)
    for letter in dead_letters:
        by_consumer[letter.consumer].append(letter)
    applied: dict[tuple[str, str, str], int] = {}
    async with await AsyncConnection.connect(database_url) as conn:
        for consumer, letters in by_consumer.items():
            state = ConsumerState(schema, consumer)
            keys = [(d.topic, d.aggregate_id) for d in letters if d.aggregate_id]
            try:
                versions = await state.applied_versions(conn, keys)
            except Exception:
                await conn.rollback()  # no such read model (any more)
                versions = {}
            applied |= {(consumer, *key): v for key, v in versions.items()}
    return [
        (
            d,
            not d.redrivable
            or applied.get((d.consumer, d.topic, d.aggregate_id or ""), 0) < (d.version or 0),
        )
        for d in dead_letters
    ]


@dataclass(frozen=True, slots=True)
class Rewind:
    consumer: str
    topic: str
    partition: int
    to_offset: int
    dead_letters: int


async def redrive(
    dead_letters: list[DeadLetter], bootstrap_servers: str, database_url: str, schema: str
) -> list[Rewind]:
    """Moves each consumer back to its earliest pending dead letter on each partition."""
    pending = [d for d, open_ in await still_pending(dead_letters, database_url, schema) if open_]
    earliest: dict[tuple[str, str, int], DeadLetter] = {}
    counts: dict[tuple[str, str, int], int] = defaultdict(int)
    for letter in (d for d in pending if d.redrivable):
        key = (letter.consumer, letter.topic, letter.partition)
        counts[key] += 1
        if key not in earliest or letter.offset < earliest[key].offset:
            earliest[key] = letter
    if not earliest:
        return []
    # A dead letter's offset means something only in the log it came from: if the broker
    # no longer holds that very record there, read the whole partition again instead.
    verifier = LogVerifier(bootstrap_servers)
    try:
        moved = await verifier.diverged(
            {
                TopicPartition(d.topic, d.partition): [Expected(d.offset, d.fingerprint)]
                for d in earliest.values()
            }
        )
    finally:
        await verifier.stop()
    rewinds = [
        Rewind(
            consumer=consumer,
            topic=topic,
            partition=partition,
            to_offset=0 if TopicPartition(topic, partition) in moved else letter.offset,
            dead_letters=counts[(consumer, topic, partition)],
        )
        for (consumer, topic, partition), letter in earliest.items()
    ]
    async with await AsyncConnection.connect(database_url) as conn:
        for consumer in {r.consumer for r in rewinds}:
            async with conn.transaction():
                state = ConsumerState(schema, consumer)
                await state.lock(conn)
                for r in (r for r in rewinds if r.consumer == consumer):
                    await state.rewind(conn, r.topic, r.partition, r.to_offset)
                await state.bump_generation(conn)
    return rewinds
