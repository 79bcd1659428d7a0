"""The consumer every projection and reactor runs on.

- Batches: one database transaction per batch of records.
- Exactly-once effect over at-least-once delivery: the consumed offsets are written in the
  same transaction as the batch they cover, and every aggregate's last applied version is
  kept, so a duplicate or re-delivered event (a re-publish from the start, say) changes
  nothing.
- Bounded retries: a failing batch is retried; if it keeps failing, its records are
  applied one at a time and a record that still fails goes to ``<topic>.dlq`` with the
  error in its headers, and the consumer moves on.
- Partitions are assigned manually and positioned from our own offsets (fast start, see
  ARCHITECTURE.md). A partition that ends before our stored offset means the broker lost
  its data; that partition is read again from 0, skipping by aggregate version.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads

from crm_shared.messaging.cloudevents import ReceivedEvent, UndecodableRecord, decode
from crm_shared.messaging.offsets import end_offsets, lost_offsets
from crm_shared.messaging.topics import dead_letter_topic
from crm_shared.observability.metrics import (
    CONSUMER_LAG_EVENTS,
    CONSUMER_LAG_SECONDS,
    DEAD_LETTERS,
    EVENTS_APPLIED,
)
from crm_shared.privacy.key_client import DataKeyClient

log = logging.getLogger(__name__)


class Projection(Protocol):
    """A read model fed by events. ``apply`` gets only events it has not seen yet."""

    name: str
    topics: Sequence[str]

    async def setup(self, conn: AsyncConnection[Any]) -> None: ...

    async def drop(self, conn: AsyncConnection[Any]) -> None: ...

    async def apply(self, conn: AsyncConnection[Any], events: list[ReceivedEvent]) -> None: ...


class ConsumerState:
    """Offsets and applied versions, in the read model's own schema."""

    def __init__(self, schema: str, consumer: str) -> None:
        self.consumer = consumer
        self.offsets = f'"{schema}".consumer_offsets'
        self.versions = f'"{schema}".applied_versions'
        self.generations = f'"{schema}".consumer_generations'

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.offsets} ("
            " consumer text, topic text, partition int, next_offset bigint NOT NULL,"
            " PRIMARY KEY (consumer, topic, partition))"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.versions} ("
            " consumer text, aggregate_id text, version bigint NOT NULL,"
            " PRIMARY KEY (consumer, aggregate_id))"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.generations} ("
            " consumer text PRIMARY KEY, generation int NOT NULL)"
        )
        await conn.execute(
            f"INSERT INTO {self.generations} VALUES (%s, 1) ON CONFLICT DO NOTHING",
            (self.consumer,),
        )

    async def lock(self, conn: AsyncConnection[Any]) -> int:
        """Serialises writers of this read model for the transaction; returns its generation."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.consumer,))
        cur = await conn.execute(
            f"SELECT generation FROM {self.generations} WHERE consumer = %s", (self.consumer,)
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def reset(self, conn: AsyncConnection[Any]) -> None:
        """Forgets everything consumed; running consumers notice the new generation."""
        await self.lock(conn)
        await conn.execute(f"DELETE FROM {self.offsets} WHERE consumer = %s", (self.consumer,))
        await conn.execute(f"DELETE FROM {self.versions} WHERE consumer = %s", (self.consumer,))
        await conn.execute(
            f"UPDATE {self.generations} SET generation = generation + 1 WHERE consumer = %s",
            (self.consumer,),
        )

    async def load_offsets(self, conn: AsyncConnection[Any]) -> dict[tuple[str, int], int]:
        cur = await conn.execute(
            f"SELECT topic, partition, next_offset FROM {self.offsets} WHERE consumer = %s",
            (self.consumer,),
        )
        return {(t, p): o for t, p, o in await cur.fetchall()}

    async def fresh(
        self, conn: AsyncConnection[Any], events: list[ReceivedEvent]
    ) -> list[ReceivedEvent]:
        """The events not applied before, in order, with their versions recorded."""
        subjects = list({e.subject for e in events})
        cur = await conn.execute(
            f"SELECT aggregate_id, version FROM {self.versions}"
            " WHERE consumer = %s AND aggregate_id = ANY(%s)",
            (self.consumer, subjects),
        )
        applied: dict[str, int] = {a: v for a, v in await cur.fetchall()}
        fresh = []
        changed: dict[str, int] = {}
        for event in events:
            if event.sequence > applied.get(event.subject, 0):
                applied[event.subject] = changed[event.subject] = event.sequence
                fresh.append(event)
        if changed:
            await conn.execute(
                f"INSERT INTO {self.versions} (consumer, aggregate_id, version)"
                " SELECT %s, * FROM unnest(%b::text[], %b::bigint[])"
                " ON CONFLICT (consumer, aggregate_id) DO UPDATE SET version = excluded.version",
                (self.consumer, list(changed), list(changed.values())),
            )
        return fresh

    async def save_offsets(
        self, conn: AsyncConnection[Any], offsets: dict[tuple[str, int], int]
    ) -> None:
        async with conn.cursor() as c:
            await c.executemany(
                f"INSERT INTO {self.offsets} (consumer, topic, partition, next_offset)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (consumer, topic, partition)"
                " DO UPDATE SET next_offset = excluded.next_offset",
                [(self.consumer, t, p, o) for (t, p), o in offsets.items()],
            )


@dataclass
class ConsumerSettings:
    bootstrap_servers: str
    database_url: str
    schema: str
    batch_size: int = 2000
    max_retries: int = 3
    poll_ms: int = 50
    retry_backoff_seconds: float = 0.2
    # Opens sealed personal fields before the projection sees them; without it the
    # projection gets the sealed strings (opaque placeholders).
    keys: DataKeyClient | None = None


class GenerationChanged(Exception):
    """The read model was reset (rebuilt) under us: start again from the stored offsets."""


class ProjectionConsumer:
    def __init__(self, projection: Projection, settings: ConsumerSettings) -> None:
        self.projection = projection
        self.settings = settings
        self.state = ConsumerState(settings.schema, projection.name)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._conn: AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self.applied_through: dict[tuple[str, int], int] = {}
        self.generation = 0

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
            while any(self._consumer_position(tp) < end for tp, end in ends.items()):
                batches = await self._consumer.getmany(
                    timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_size
                )
                records = [r for rs in batches.values() for r in rs]
                if records:
                    await self.handle(records)
                    read += len(records)
        finally:
            await self.stop()
        return read

    def _consumer_position(self, tp: TopicPartition) -> int:
        return self.applied_through.get((tp.topic, tp.partition), 0)

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
        self._conn = await self._connect()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            enable_auto_commit=False,
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
        await self._assign()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for client in (self._consumer, self._producer):
            if client is not None:
                await client.stop()
        if self._conn is not None:
            await self._conn.close()

    async def _assign(self) -> None:
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
            stored = await self.state.load_offsets(self._conn)
        # A stored offset the broker cannot serve means it lost its data (the embedded
        # broker restarts empty): read that partition again from 0; the applied versions
        # make the replay harmless.
        last_seen = {
            tp: stored[(tp.topic, tp.partition)] - 1
            for tp in partitions
            if stored.get((tp.topic, tp.partition), 0) > 0
        }
        lost = await lost_offsets(self.settings.bootstrap_servers, last_seen)
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition), 0)
            if tp in lost:
                log.warning(
                    "partition %s-%d no longer holds offset %d: the broker lost its data;"
                    " reading it again from the start",
                    tp.topic,
                    tp.partition,
                    offset - 1,
                )
                offset = 0
            self._consumer.seek(tp, offset)
            self.applied_through[(tp.topic, tp.partition)] = offset

    async def _run(self) -> None:
        assert self._consumer is not None
        reposition = False
        while True:
            if reposition:
                # Back to the offsets stored with the read model, so that nothing the
                # consumer fetched but did not apply is skipped.
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await self._connect()
                    await self._assign()
                    reposition = False
                except Exception:
                    log.exception("%s cannot reposition; retrying", self.projection.name)
                    await asyncio.sleep(1)
                    continue
            batches = await self._consumer.getmany(
                timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_size
            )
            records = [r for rs in batches.values() for r in rs]
            if records:
                try:
                    await self.handle(records)
                except GenerationChanged:
                    log.warning(
                        "%s was reset; consuming again from its stored offsets",
                        self.projection.name,
                    )
                    reposition = True
                except Exception:
                    log.exception("%s failed on a batch; resuming", self.projection.name)
                    await asyncio.sleep(1)
                    reposition = True
            self._observe_lag()

    async def handle(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Applies a batch durably, retrying, isolating and dead-lettering as needed."""
        events, poison = self._decode(records)
        if self.settings.keys is not None:
            # An unreachable key endpoint raises here: the batch is tried again later.
            unreadable = await self.settings.keys.reveal(events)
            if unreadable:
                bad = {id(event) for event, _ in unreadable}
                events = [e for e in events if id(e) not in bad]
                by_position = {(r.topic, r.partition, r.offset): r for r in records}
                poison += [
                    (by_position[(e.topic, e.partition, e.offset)], err) for e, err in unreadable
                ]
        offsets = {(r.topic, r.partition): r.offset + 1 for r in records}
        for record, error in poison:
            await self._dead_letter(record, error)
        for attempt in range(self.settings.max_retries + 1):
            try:
                await self._apply_durably(events, offsets)
                return
            except GenerationChanged:
                raise
            except Exception:
                log.exception("batch of %d events failed (attempt %d)", len(events), attempt + 1)
                await asyncio.sleep(self.settings.retry_backoff_seconds * (attempt + 1))
        # Keeps failing: find the culprits by applying one event at a time.
        by_position = {(r.topic, r.partition, r.offset): r for r in records}
        for event in events:
            single = {(event.topic, event.partition): event.offset + 1}
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
                await self._dead_letter(
                    by_position[(event.topic, event.partition, event.offset)], last_failure
                )
                await self._apply_durably([], single, skip=[event])
        await self._apply_durably([], offsets)

    async def _apply_durably(
        self,
        events: list[ReceivedEvent],
        offsets: dict[tuple[str, int], int],
        skip: list[ReceivedEvent] | None = None,
    ) -> None:
        conn = self._conn
        assert conn is not None
        try:
            async with conn.transaction():
                if await self.state.lock(conn) != self.generation:
                    raise GenerationChanged
                fresh = await self.state.fresh(conn, events + (skip or []))
                if skip:
                    fresh = [e for e in fresh if e not in skip]
                if fresh:
                    await self.projection.apply(conn, fresh)
                await self.state.save_offsets(conn, offsets)
        except BaseException:
            if conn.broken:
                self._conn = await self._connect()
            raise
        self.applied_through.update(offsets)
        EVENTS_APPLIED.labels(self.projection.name).inc(len(events))
        if events:
            newest = max(e.time.timestamp() for e in events)
            for topic in {e.topic for e in events}:
                CONSUMER_LAG_SECONDS.labels(self.projection.name, topic).set(
                    max(time.time() - newest, 0.0)
                )

    def _decode(
        self, records: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[list[ReceivedEvent], list[tuple[ConsumerRecord[bytes, bytes], BaseException]]]:
        events: list[ReceivedEvent] = []
        poison: list[tuple[ConsumerRecord[bytes, bytes], BaseException]] = []
        for r in records:
            try:
                events.append(
                    decode(
                        r.headers, r.value, topic=r.topic, partition=r.partition, offset=r.offset
                    )
                )
            except UndecodableRecord as error:
                poison.append((r, error))
        return events, poison

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException
    ) -> None:
        assert self._producer is not None
        headers = [
            *record.headers,
            ("dlq_error", str(error)[:1000].encode()),
            ("dlq_exception", type(error).__name__.encode()),
            ("dlq_traceback", "".join(traceback.format_exception(error))[-4000:].encode()),
            ("dlq_consumer", self.projection.name.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(
            dead_letter_topic(record.topic), record.value, key=record.key, headers=headers
        )
        DEAD_LETTERS.labels(self.projection.name, record.topic).inc()
        log.error(
            "dead-lettered %s-%d@%d: %s", record.topic, record.partition, record.offset, error
        )

    def _observe_lag(self) -> None:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            behind = highwater - self.applied_through.get((tp.topic, tp.partition), 0)
            CONSUMER_LAG_EVENTS.labels(self.projection.name, tp.topic).set(max(behind, 0))
