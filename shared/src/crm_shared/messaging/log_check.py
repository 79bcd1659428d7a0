"""Is the broker's log still the one a consumer has read?

A consumer positions itself by offsets, and an offset means something only within one
log. A broker that lost its data (the embedded one keeps messages in memory), a topic
deleted and created again, or an unclean leader election hands out the same offsets for
other records, so a consumer that carries on from its old offset can skip records that
now sit below it. Each consumer therefore keeps, beside every partition's next offset,
the fingerprint of the last record it read there (its *anchor*), and before it applies
records fetched from a partition it checks that the broker still holds the anchor at
that offset and, right after it, the first record of the batch. Why that is enough is
written down in docs/architecture.md ("No acknowledged event is skipped").
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import ConsumerRecord, TopicPartition, errors
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

from crm_shared.messaging.failures import SafeMessage


def fingerprint(record: ConsumerRecord[bytes, bytes]) -> bytes:
    """16 bytes that tell one record from another (key, event id and value)."""
    return _fingerprint(record.key, record.headers, record.value)


def _fingerprint(
    key: bytes | None, headers: Sequence[tuple[str, bytes]], value: bytes | None
) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    event_id = next((v for k, v in headers if k == "ce_id"), b"")
    for part in (key or b"", event_id, value or b""):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True, slots=True)
class Expected:
    """The record a partition must hold at an offset (any record, if fingerprint is None)."""

    offset: int
    fingerprint: bytes | None


class LogUnavailable(SafeMessage):
    """The broker did not answer in time: nothing can be concluded, try again later."""


class LogVerifier:
    """Fetches the few records a check needs, in one request per broker.

    A plain fetch (no consumer positions, no prefetching) answers in about a round trip,
    so the check costs little beside the batch it guards.
    """

    def __init__(self, bootstrap_servers: str, timeout_seconds: float = 5.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._client = AIOKafkaClient(bootstrap_servers=bootstrap_servers)
        self._started = False

    async def start(self) -> None:
        if not self._started:
            await self._client.bootstrap()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._client.close()
            self._started = False

    async def diverged(
        self, expectations: dict[TopicPartition, list[Expected]]
    ) -> set[TopicPartition]:
        """The partitions whose log no longer holds the expected records."""
        wanted = {tp: exp for tp, exp in expectations.items() if exp}
        if not wanted:
            return set()
        await self.start()
        try:
            return await asyncio.wait_for(self._judge_all(wanted), self.timeout_seconds)
        except (TimeoutError, KafkaError) as error:
            raise LogUnavailable(
                f"the broker did not answer the check ({type(error).__name__})"
            ) from None

    async def _judge_all(self, wanted: dict[TopicPartition, list[Expected]]) -> set[TopicPartition]:
        seen: dict[TopicPartition, dict[int, bytes]] = {tp: {} for tp in wanted}
        verdict: dict[TopicPartition, bool] = {}  # True: diverged
        next_fetch = {tp: min(e.offset for e in expected) for tp, expected in wanted.items()}
        offsets_of = {tp: {e.offset for e in expected} for tp, expected in wanted.items()}
        while next_fetch:
            answers = await self._fetch(next_fetch, offsets_of)
            # A partition the broker left out of its answer is asked again (until the
            # timeout): silence proves nothing either way.
            next_fetch = {tp: offset for tp, offset in next_fetch.items() if tp not in answers}
            if next_fetch:
                await asyncio.sleep(0.01)
            for tp, answer in answers.items():
                if answer is None:
                    verdict[tp] = True  # the partition, or the offset, is not there any more
                    continue
                highwater, records = answer
                seen[tp].update(records)
                judged = self._judge(wanted[tp], seen[tp], highwater)
                if judged is None:
                    # The answer stopped at a batch boundary: ask from the first offset missing.
                    next_fetch[tp] = min(e.offset for e in wanted[tp] if e.offset not in seen[tp])
                else:
                    verdict[tp] = judged
        return {tp for tp, gone in verdict.items() if gone}

    async def _fetch(
        self, offsets: dict[TopicPartition, int], wanted: dict[TopicPartition, set[int]]
    ) -> dict[TopicPartition, tuple[int, dict[int, bytes]] | None]:
        """Per partition: (high watermark, fingerprint by offset), or None if out of range."""
        by_node: dict[int, list[TopicPartition]] = defaultdict(list)
        answers: dict[TopicPartition, tuple[int, dict[int, bytes]] | None] = {}
        for tp in offsets:
            leader = await self._leader(tp)
            if leader is None:
                answers[tp] = None  # the topic is gone, and its log with it
            else:
                by_node[leader].append(tp)
        for node, partitions in by_node.items():
            by_topic: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for tp in partitions:
                by_topic[tp.topic].append((tp.partition, offsets[tp], 64 * 1024))
            # Wait at most a millisecond, for at least a byte: Tansu answers a fetch that asks
            # for zero bytes with no partitions at all.
            request = FetchRequest(1, 1, 4 * 1024 * 1024, 0, list(by_topic.items()))
            response = await self._client.send(node, request)
            for topic, answered in response.topics:
                for partition, error_code, highwater, *data in answered:
                    tp = TopicPartition(topic, partition)
                    error = errors.for_code(error_code)
                    if error in (errors.OffsetOutOfRangeError, errors.UnknownTopicOrPartitionError):
                        answers[tp] = None
                    elif error is not errors.NoError:
                        raise error()
                    else:
                        answers[tp] = (highwater, _fingerprints(data[-1], wanted[tp]))
        return answers

    async def _leader(self, tp: TopicPartition) -> int | None:
        """The partition's leader; None if the broker no longer has the topic."""
        leader = self._client.cluster.leader_for_partition(tp)
        if leader is None or leader < 0:
            await self._client.add_topic(tp.topic)
            await self._client.force_metadata_update()
            if tp.topic not in self._client.cluster.topics():
                return None
            leader = self._client.cluster.leader_for_partition(tp)
        if leader is None or leader < 0:
            raise LogUnavailable(f"no leader for {tp.topic}-{tp.partition}")
        return int(leader)

    @staticmethod
    def _judge(expected: list[Expected], seen: dict[int, bytes], highwater: int) -> bool | None:
        """True if diverged, False if intact, None while it cannot tell yet."""
        for e in expected:
            if e.offset in seen:
                if e.fingerprint is not None and seen[e.offset] != e.fingerprint:
                    return True
            elif highwater <= e.offset:
                return True  # the log ends before a record we have read
            elif any(offset > e.offset for offset in seen):
                return True  # the broker skipped it: not there any more
            else:
                return None
        return False


def _fingerprints(message_set: bytes | None, offsets: set[int]) -> dict[int, bytes]:
    """The fingerprints of the records at ``offsets`` in a fetched message set, and the
    offsets of the others (with an empty fingerprint: only their presence matters)."""
    found: dict[int, bytes] = {}
    if not message_set:
        return found
    records = MemoryRecords(message_set)
    while records.has_next():
        batch = records.next_batch()
        if batch is None:
            break
        if not any(batch.base_offset <= o < batch.next_offset for o in offsets):
            found[batch.next_offset - 1] = b""  # enough to tell the log goes on past it
            continue
        for record in batch:
            found[record.offset] = (
                _fingerprint(record.key, record.headers, record.value)
                if record.offset in offsets
                else b""
            )
    return found
