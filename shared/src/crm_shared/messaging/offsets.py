"""Where a partition truly ends.

Tansu 0.6 reports a partition's end as the base offset of its last record batch plus one,
which undercounts when the producer batches. Whether the broker still holds a record is
asked by fetching it (``log_check``).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition


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
