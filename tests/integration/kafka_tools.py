"""Reading topics back with a plain Kafka client, as an outside subscriber would."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from crm_shared.messaging.cloudevents import KafkaRecord


async def read_all(
    bootstrap: str, topic: str, timeout_ms: int = 500
) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
        ]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
            ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            for rs in batch.values():
                records.extend(rs)
        return records
    finally:
        await consumer.stop()


def consumed(
    record: KafkaRecord, topic: str = "crm.contacts.events", partition: int = 0, offset: int = 0
) -> ConsumerRecord[bytes, bytes]:
    """A record as a consumer fetches it, without a broker (for the decoder alone)."""
    return ConsumerRecord(
        topic,
        partition,
        offset,
        0,
        0,
        record.key,
        record.value,
        None,
        len(record.key),
        len(record.value),
        record.headers,
    )
