"""The consumer every projection and reaction runs on.

- Typed events: every record is decoded through the catalog, upcasters included, its
  personal values opened and its data validated (``decoding``); the projection gets the
  catalog's models of the types it handles (``crm_shared.projections``). A record that
  does not decode is dead-lettered like one the projection fails on.
- Batches: one database transaction per batch of records.
- Exactly-once effect over at-least-once delivery: the consumed offsets are written in the
  same transaction as the batch they cover, and every aggregate's last applied version is
  kept, so a duplicate or re-delivered event (a re-publish from the start, say) changes
  nothing, and an event that arrives before an earlier one of its aggregate waits for it
  (see ``consumer_state``).
- The broker's log is checked before every batch is applied: if it no longer holds the
  last record we read (it lost its data, or came back with a shorter or different log),
  that partition is read again from the start. See ``log_check`` and docs/architecture.md.
- Bounded retries: a failing batch is retried; if it keeps failing, its events are
  applied one at a time and an event that still fails goes to ``<topic>.dlq`` with a
  description of the failure that holds no data (``failures``); its aggregate is parked
  until the dead letter is redriven (``crm dlq redrive``).
- Partitions are assigned manually and positioned from our own offsets (fast start, see
  docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads

from crm_shared.catalog import CATALOG
from crm_shared.events import Catalog, Envelope, EventData, ReceivedEvent
from crm_shared.messaging.consumer_state import ConsumerState, StoredPosition
from crm_shared.messaging.decoding import EventDecoder
from crm_shared.messaging.failures import SafeMessage, describe, frames
from crm_shared.messaging.heap import settle_for_batches
from crm_shared.messaging.log_check import Expected, LogVerifier, fingerprint
from crm_shared.messaging.offsets import end_offsets
from crm_shared.messaging.topics import dead_letter_topic
from crm_shared.observability.metrics import (
    CONSUMER_LAG_EVENTS,
    CONSUMER_LAG_SECONDS,
    DEAD_LETTERS,
    EVENTS_APPLIED,
    LOG_REWINDS,
    PARKED_EVENTS,
)
from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.projections import Projection

__all__ = [
    "ConsumerSettings",
    "ConsumerState",
    "Projection",
    "ProjectionConsumer",
]

log = logging.getLogger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Position: TypeAlias = tuple[str, int]  # (topic, partition)


@dataclass
class ConsumerSettings:
    bootstrap_servers: str
    database_url: str
    schema: str
    batch_size: int = 2000
    max_retries: int = 3
    poll_ms: int = 50
    retry_backoff_seconds: float = 0.2
    # Opens sealed personal fields before the projection sees them; without it their
    # fields read as empty and the sealed strings are in ``ReceivedEvent.sealed``.
    keys: DataKeyClient | None = None
    # How often an idle consumer looks whether its read model was reset or redriven.
    generation_check_seconds: float = 1.0


class GenerationChanged(SafeMessage):
    """The read model was reset (rebuilt) or redriven: start again from the stored offsets."""


class ProjectionConsumer:
    def __init__(
        self, projection: Projection, settings: ConsumerSettings, catalog: Catalog = CATALOG
    ) -> None:
        self.projection = projection
        self.settings = settings
        self.decoder = EventDecoder(catalog, projection.handles, settings.keys)
        self.state = ConsumerState(settings.schema, projection.name)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._verifier = LogVerifier(settings.bootstrap_servers)
        self._conn: AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        # Per partition: the next offset to read and the fingerprint of the record before it.
        self.positions: dict[Position, StoredPosition] = {}
        self._caught_up: dict[Position, bool] = {}
        self.generation = 0
        self._generation_checked = 0.0

    @property
    def applied_through(self) -> dict[Position, int]:
        """Per partition, the offset up to which the read model has applied everything."""
        return {tp: p.next_offset for tp, p in self.positions.items()}

    async def readiness(self) -> dict[str, Any] | None:
        """For /readyz: None once caught up, else how far behind it is."""
        status = self.status()
        return None if status["status"] == "ok" else status

    def status(self) -> dict[str, Any]:
        """``ok`` once every partition has been read to its end; ``catching_up`` before."""
        behind = 0
        assert self._consumer is not None or not self.positions
        if self._consumer is not None:
            for tp in self._consumer.assignment():
                highwater = self._consumer.highwater(tp)
                if highwater is not None:
                    position = self.positions.get((tp.topic, tp.partition))
                    behind += max(highwater - (position.next_offset if position else 0), 0)
        ready = bool(self._caught_up) and all(self._caught_up.values())
        return {"status": "ok" if ready else "catching_up", "events_behind": behind}

    async def setup(self) -> None:
        async with await AsyncConnection.connect(
            self.settings.database_url, autocommit=True
        ) as conn:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.settings.schema}"')
            await self.state.setup(conn)
            await self.projection.setup(conn)

    async def start(self) -> None:
        """Starts consuming in the background until ``stop()``."""
        await self.open()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.projection.name}")

    async def catch_up(self) -> int:
        """Consumes up to the topics' ends as they are now, then stops; returns records read."""
        await self.open()
        assert self._consumer is not None
        ends = await end_offsets(self.settings.bootstrap_servers, list(self._consumer.assignment()))
        read = 0
        try:
            while any(
                self.applied_through.get((tp.topic, tp.partition), 0) < end
                for tp, end in ends.items()
            ):
                read += await self._poll_once()
        finally:
            await self.stop()
        return read

    async def _connect(self) -> AsyncConnection[Any]:
        conn = await AsyncConnection.connect(self.settings.database_url)
        set_json_loads(orjson.loads, conn)
        # A read model, its offsets and its applied versions commit together, so a commit
        # lost in a database crash rewinds all three consistently and the events are
        # simply consumed again: no need to wait for the disk on every batch.
        await conn.execute("SET synchronous_commit = off")
        await conn.commit()
        return conn

    async def open(self) -> None:
        await self.setup()
        settle_for_batches()
        self._conn = await self._connect()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            enable_auto_commit=False,
            # An offset past the end of a shorter, new log: read that log from its start.
            auto_offset_reset="earliest",
            max_poll_records=self.settings.batch_size,
            fetch_max_bytes=32 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # Answer as soon as there is anything: read models should lag by milliseconds.
            fetch_max_wait_ms=self.settings.poll_ms,
        )
        await self._consumer.start()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers, acks="all"
        )
        await self._producer.start()
        await self._verifier.start()
        await self._assign()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for client in (self._consumer, self._producer):
            if client is not None:
                await client.stop()
        await self._verifier.stop()
        if self._conn is not None:
            await self._conn.close()

    async def _assign(self) -> None:
        """Takes every partition of the projection's topics, positioned from our offsets."""
        assert self._consumer is not None and self._conn is not None
        partitions: list[TopicPartition] = []
        for topic in self.projection.topics:
            for _ in range(100):
                ids = self._consumer.partitions_for_topic(topic)
                if ids:
                    break
                await self._consumer._client.force_metadata_update()
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"topic {topic} does not exist")
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        self._consumer.assign(partitions)
        async with self._conn.transaction():
            self.generation = await self.state.lock(self._conn)
            stored = await self.state.load_positions(self._conn)
        self._generation_checked = time.monotonic()
        self.positions = {}
        self._caught_up = {(tp.topic, tp.partition): False for tp in partitions}
        expectations = {
            tp: [Expected(position.next_offset - 1, position.anchor)]
            for tp in partitions
            if (position := stored.get((tp.topic, tp.partition))) and position.next_offset > 0
        }
        diverged = await self._verifier.diverged(expectations)
        for tp in partitions:
            position = stored.get((tp.topic, tp.partition), StoredPosition(0, None))
            if tp in diverged:
                self._rewound(tp, "no longer holds the last record this read model applied")
                position = StoredPosition(0, None)
            self._consumer.seek(tp, position.next_offset)
            self.positions[(tp.topic, tp.partition)] = position

    def _rewound(self, tp: TopicPartition, why: str) -> None:
        log.warning(
            "%s: partition %s-%d %s: the broker lost or replaced its log; reading the"
            " partition again from its start",
            self.projection.name,
            tp.topic,
            tp.partition,
            why,
        )
        LOG_REWINDS.labels(self.projection.name, tp.topic).inc()

    async def _run(self) -> None:
        reposition = False
        failures = 0  # in a row: logged when they start and when they end, not each one
        while True:
            try:
                if reposition:
                    # Back to the offsets stored with the read model, so that nothing the
                    # consumer fetched but did not apply is skipped.
                    if self._conn is None or self._conn.closed:
                        self._conn = await self._connect()
                    await self._assign()
                    reposition = False
                read = await self._poll_once()
                if not read:
                    await self._check_generation()
            except GenerationChanged:
                log.warning(
                    "%s was reset or redriven; consuming again from its stored offsets",
                    self.projection.name,
                )
                reposition = True
                continue
            except Exception as error:
                failures += 1
                if failures == 1:
                    log.error(
                        "%s cannot apply its topics; retrying from its stored offsets until"
                        " it can:\n%s",
                        self.projection.name,
                        frames(error),
                    )
                reposition = True
                await asyncio.sleep(min(0.5 * 2 ** (failures - 1), 5.0))
                continue
            if failures:
                log.warning(
                    "%s applying again after %d failed attempts", self.projection.name, failures
                )
                failures = 0

    async def _check_generation(self) -> None:
        """An idle consumer still notices a reset or a redrive (at most a second late)."""
        if time.monotonic() - self._generation_checked < self.settings.generation_check_seconds:
            return
        assert self._conn is not None
        self._generation_checked = time.monotonic()
        async with self._conn.transaction():
            generation = await self.state.generation(self._conn)
        if generation != self.generation:
            raise GenerationChanged

    async def _poll_once(self) -> int:
        """Fetches, verifies and applies one batch; returns how many records it read."""
        assert self._consumer is not None
        batches = await self._consumer.getmany(
            timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_size
        )
        records = await self._verified(batches) if batches else []
        if records:
            await self.handle(records)
        self._observe_progress()
        return len(records)

    async def _verified(self, batches: dict[TopicPartition, list[Record]]) -> list[Record]:
        """The fetched records that continue the log this read model has read.

        A partition whose log no longer holds our last record (or holds something else
        there) is read again from its start, and its fetched records are dropped.
        """
        assert self._consumer is not None
        expectations: dict[TopicPartition, list[Expected]] = {}
        for tp, records in batches.items():
            position = self.positions.get((tp.topic, tp.partition), StoredPosition(0, None))
            first = records[0].offset
            if first < position.next_offset:
                # The fetcher found our offset out of range and went back to the log's
                # start: the log is shorter than what we read, so reading it all is right.
                self._rewound(tp, f"ends before offset {position.next_offset}")
                self.positions[(tp.topic, tp.partition)] = StoredPosition(first, None)
            elif first > position.next_offset:
                log.error(
                    "%s: partition %s-%d resumed at %d, not %d: records were deleted before"
                    " they were read (retention shorter than the read model's lag?)",
                    self.projection.name,
                    tp.topic,
                    tp.partition,
                    first,
                    position.next_offset,
                )
            elif position.next_offset > 0:
                expectations[tp] = [
                    Expected(position.next_offset - 1, position.anchor),
                    Expected(first, fingerprint(records[0])),
                ]
        diverged = await self._verifier.diverged(expectations)
        for tp in diverged:
            self._rewound(tp, "no longer holds the records this read model read")
            await self._consumer.seek_to_beginning(tp)
            self.positions[(tp.topic, tp.partition)] = StoredPosition(0, None)
            self._caught_up[(tp.topic, tp.partition)] = False
        return [r for tp, records in batches.items() if tp not in diverged for r in records]

    async def handle(self, records: list[Record]) -> None:
        """Applies a batch durably, retrying, isolating and dead-lettering as needed."""
        # An unreachable key endpoint raises here: the batch is tried again later.
        decoded = await self.decoder.decode(records)
        events, poison = decoded.events, decoded.poison
        positions = self._positions_after(records)
        for record, error in poison:
            await self._dead_letter(record, error)
        for attempt in range(self.settings.max_retries + 1):
            try:
                await self._apply_durably(events, positions)
                return
            except GenerationChanged:
                raise
            except Exception as error:
                if attempt == 0:
                    log.error(
                        "%s: a batch of %d events failed; retrying it:\n%s",
                        self.projection.name,
                        len(events),
                        frames(error),
                    )
                await asyncio.sleep(self.settings.retry_backoff_seconds * (attempt + 1))
        await self._isolate_failures(events, records)
        await self._apply_durably([], positions)

    async def _isolate_failures(self, events: list[Envelope], records: list[Record]) -> None:
        """Applies one event at a time; one that still fails is dead-lettered and parked."""
        by_position = {(r.topic, r.partition, r.offset): r for r in records}
        for event in events:
            record = by_position[(event.topic, event.partition, event.offset)]
            single = self._positions_after([record])
            last_failure: BaseException | None = None
            for _ in range(self.settings.max_retries + 1):
                try:
                    await self._apply_durably([event], single)
                    last_failure = None
                    break
                except GenerationChanged:
                    raise
                except Exception as failure:
                    last_failure = failure
            if last_failure is not None:
                await self._dead_letter(record, last_failure)
                await self._apply_durably([event], single, failed=[event])

    @staticmethod
    def _positions_after(records: list[Record]) -> dict[Position, StoredPosition]:
        last: dict[Position, Record] = {}
        for record in records:
            last[(record.topic, record.partition)] = record
        return {tp: StoredPosition(r.offset + 1, fingerprint(r)) for tp, r in last.items()}

    async def _apply_durably(
        self,
        events: list[Envelope],
        positions: dict[Position, StoredPosition],
        failed: list[Envelope] | None = None,
    ) -> None:
        conn = self._conn
        assert conn is not None
        try:
            async with conn.transaction():
                if await self.state.lock(conn) != self.generation:
                    raise GenerationChanged
                sorted_ = await self.state.sort(conn, events, failed or [])
                # What the projection does not handle only counts for its aggregate's order.
                handled: list[ReceivedEvent[EventData]] = [
                    e for e in sorted_.fresh if isinstance(e, ReceivedEvent)
                ]
                if handled:
                    await self.projection.apply(conn, handled)
                await self.state.save_positions(conn, positions)
        except BaseException:
            if conn.broken:
                self._conn = await self._connect()
            raise
        self.positions.update(positions)
        self._observe_applied(sorted_.fresh, sorted_.parked)

    def _observe_applied(self, fresh: list[Envelope], parked: list[Envelope]) -> None:
        EVENTS_APPLIED.labels(self.projection.name).inc(len(fresh))
        for event in parked:
            PARKED_EVENTS.labels(self.projection.name, event.topic).inc()
            log.warning(
                "%s: parked %s version %d (%s): an earlier event of it is not applied yet",
                self.projection.name,
                event.aggregate_id,
                event.version,
                event.recorded_type,
            )
        if fresh:
            newest = max(e.time.timestamp() for e in fresh)
            for topic in {e.topic for e in fresh}:
                CONSUMER_LAG_SECONDS.labels(self.projection.name, topic).set(
                    max(time.time() - newest, 0.0)
                )

    async def _dead_letter(self, record: Record, error: BaseException) -> None:
        assert self._producer is not None
        # The record itself is as it was published (personal fields sealed); what is added
        # describes the failure without quoting any value (``failures``).
        headers = [
            *record.headers,
            ("dlq_error", describe(error)[:1000].encode()),
            ("dlq_exception", type(error).__name__.encode()),
            ("dlq_traceback", frames(error)[-4000:].encode()),
            ("dlq_consumer", self.projection.name.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_time", str(time.time()).encode()),
        ]
        await self._producer.send_and_wait(
            dead_letter_topic(record.topic), record.value, key=record.key, headers=headers
        )
        DEAD_LETTERS.labels(self.projection.name, record.topic).inc()
        log.error(
            "%s: dead-lettered %s-%d@%d: %s",
            self.projection.name,
            record.topic,
            record.partition,
            record.offset,
            describe(error),
        )

    def _observe_progress(self) -> None:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            key = (tp.topic, tp.partition)
            position = self.positions.get(key)
            behind = highwater - (position.next_offset if position else 0)
            if behind <= 0:
                self._caught_up[key] = True
            CONSUMER_LAG_EVENTS.labels(self.projection.name, tp.topic).set(max(behind, 0))
