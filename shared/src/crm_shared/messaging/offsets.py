"""Does the broker still hold a record at an offset?

Telling "the broker lost its data" (the embedded broker keeps messages in memory) from
"all is well" cannot rely on end offsets alone: Tansu 0.6 reports a partition's end as
the base offset of its last record batch plus one, which undercounts when the producer
batches. So a suspicious end offset is confirmed by fetching the record itself.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError


async def holds_offset(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> bool:
    """True if ``consumer`` (not otherwise in use) can fetch the record at ``offset``."""
    consumer.assign([tp])
    consumer.seek(tp, offset)
    try:
        batches = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
    except OffsetOutOfRangeError:
        return False
    return any(record.offset == offset for records in batches.values() for record in records)


async def lost_offsets(
    bootstrap_servers: str, expected: dict[TopicPartition, int]
) -> set[TopicPartition]:
    """The partitions that no longer hold the record at the expected (last seen) offset."""
    if not expected:
        return set()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="none"
    )
    await consumer.start()
    try:
        topics = await consumer.topics()
        lost = {tp for tp in expected if tp.topic not in topics}
        for tp, offset in expected.items():
            if tp not in lost and not await holds_offset(consumer, tp, offset):
                lost.add(tp)
        return lost
    finally:
        await consumer.stop()


async def end_offsets(
    bootstrap_servers: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Each partition's true end (the offset the next record will get).

    The broker's answer to a fetch carries the high watermark, which is right where the
    reported end offset may undercount (see above), so both are asked and the larger kept.
    """
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        reported = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, max(reported[tp] - 1, 0))
        await consumer.getmany(timeout_ms=500)
        return {tp: max(reported[tp], consumer.highwater(tp) or 0) for tp in partitions}
    finally:
        await consumer.stop()
