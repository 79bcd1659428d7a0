"""The consumer every projection and reaction runs on.

- Typed events: every record is decoded through the catalog, upcasters included, its
  personal values opened and its data validated (``decoding``); the projection gets the
  catalog's models of the types it handles (``crm_shared.projections``). A record that
  does not decode is dead-lettered like one the projection fails on.
- Batches: one database transaction per batch of records. Catching up (a rebuild)
  fetches and decodes the next batch while the database applies one (``_read_to``).
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
- Partitions: a consumer either takes every partition of its topics (one replica, and
  the rebuild's catch-up), or, with ``ConsumerSettings.group``, joins a Kafka consumer
  group so that several replicas share them. Either way it positions each partition from
  the offsets stored with the read model when it takes it, and *claims* it there: a
  batch is committed only while its consumer's claim stands, so two replicas never both
  apply a partition's batch (``consumer_state``, docs/architecture.md "Replicas").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeAlias, TypeVar

import orjson
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads

from crm_shared.catalog import CATALOG
from crm_shared.events import Catalog, Envelope, EventData, ReceivedEvent
from crm_shared.events.catalog import stream_kind
from crm_shared.messaging.consumer_state import ConsumerState, Fenced, StoredPosition, setup_lock
from crm_shared.messaging.decoding import Decoded, EventDecoder
from crm_shared.messaging.failures import SafeMessage, describe, frames
from crm_shared.messaging.heap import settle_for_batches
from crm_shared.messaging.log_check import Expected, LogUnavailable, LogVerifier, fingerprint
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
from crm_shared.projections import Projection, ReadModel

__all__ = [
    "ConsumerSettings",
    "ConsumerState",
    "Fenced",
    "Projection",
    "ProjectionConsumer",
]

log = logging.getLogger(__name__)

# How often a catch-up asks a broker that did not answer the log check in time.
CHECK_ATTEMPTS = 6
T = TypeVar("T")

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
    # Share the partitions with the other replicas through a Kafka consumer group (named
    # after the read model's schema and name) instead of taking them all. The timeouts
    # were chosen on the embedded broker's measured behaviour (docs/architecture.md,
    # "Replicas"): a dead replica's partitions move after about session + 3 s.
    group: bool = False
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    # How long a rebalance waits for a member to finish its batch and rejoin.
    rebalance_timeout_ms: int = 10000
    # Outside a group, (index, count): take only the partitions whose number is ``index``
    # modulo ``count`` (one of a rebuild's processes). (0, 1) takes them all.
    share: tuple[int, int] = (0, 1)
    # How many processes a rebuild reads the topics in (``crm_shared.messaging.rebuild``).
    build_processes: int = 1


class GenerationChanged(SafeMessage):
    """The read model was reset (rebuilt) or redriven: start again from the stored offsets."""


class ProjectionConsumer:
    def __init__(
        self, projection: Projection, settings: ConsumerSettings, catalog: Catalog = CATALOG
    ) -> None:
        self.projection = projection
        # A read model's positions live in its own schema, beside its tables, so that it is
        # rebuilt and swapped on its own, whichever other read models its service keeps.
        if isinstance(projection, ReadModel):
            settings = replace(settings, schema=projection.schema)
        self.settings = settings
        self.decoder = EventDecoder(catalog, projection.handles, settings.keys)
        # The streams the projection follows: those of the kinds of the events it handles.
        # An event of another kind of stream concerns no aggregate it keeps, so it is not
        # even counted in its aggregate's order (a list of leads skips every deal's event).
        self.streams = frozenset(stream_kind(t.type_name) for t in projection.handles)
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
        # The partitions this consumer has claimed, with each claim (see consumer_state).
        self.claims: dict[Position, int] = {}
        self._group = False
        self._assigned = False  # in a group: the group has answered at least once
        # Bumped whenever the partitions change hands: a batch fetched before is dropped.
        self._assignment_epoch = 0
        # A batch and a rebalance exclude each other: a revocation waits for the batch.
        self._batch_lock = asyncio.Lock()
        self._fenced_since: dict[TopicPartition, float] = {}
        self._reclaim = False  # the group gave us partitions we could not claim yet

    @property
    def applied_through(self) -> dict[Position, int]:
        """Per partition, the offset up to which the read model has applied everything."""
        return {tp: p.next_offset for tp, p in self.positions.items()}

    async def readiness(self) -> dict[str, Any] | None:
        """For /readyz: None once caught up, else how far behind it is."""
        status = self.status()
        return None if status["status"] == "ok" else status

    def status(self) -> dict[str, Any]:
        """``ok`` once every partition has been read to its end; ``catching_up`` before,
        with how many events are left (None until the broker has said where the ends are)."""
        assert self._consumer is not None or not self.positions
        ends: dict[Position, int | None] = {}
        if self._consumer is not None:
            ends = {
                (tp.topic, tp.partition): self._consumer.highwater(tp)
                for tp in self._consumer.assignment()
            }
        behind = events_behind(ends, self.applied_through)
        if self._group:
            # A replica that the group gave no partition to is ready once it has joined.
            ready = self._assigned and all(self._caught_up.values())
        else:
            ready = bool(self._caught_up) and all(self._caught_up.values())
        return {"status": "ok" if ready else "catching_up", "events_behind": behind}

    async def setup(self) -> None:
        async with (
            await AsyncConnection.connect(self.settings.database_url, autocommit=True) as conn,
            setup_lock(conn, self.settings.schema),
        ):
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.settings.schema}"')
            await self.state.setup(conn)
            await self.projection.setup(conn)

    async def start(self) -> None:
        """Starts consuming in the background until ``stop()``."""
        await self.open()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.projection.name}")

    async def catch_up(self) -> int:
        """Consumes up to the topics' ends as they are now, then stops; returns records read.

        It takes every partition (its share of them, ``ConsumerSettings.share``), in or out
        of a group: this is how a rebuild reads.
        """
        await self.open(group=False)
        assert self._consumer is not None
        ends = await end_offsets(self.settings.bootstrap_servers, list(self._consumer.assignment()))
        try:
            return await self._read_to(ends)
        finally:
            await self.stop()

    async def _read_to(self, ends: dict[TopicPartition, int]) -> int:
        """Reads every partition to ``ends``, fetching and decoding each batch while the
        database applies the one before (decoding is this process's CPU, applying mostly
        the database's). Batches are still verified and applied one after the other, in
        order: a batch is verified against the positions the one before it committed, and
        its poison dead-lettered, only once that one has committed. Outside a group only:
        no rebalance can move a partition while a batch is fetched ahead."""
        assert self._consumer is not None and not self._group
        read = 0
        applying: asyncio.Task[None] | None = None
        try:
            while applying is not None or any(
                self.applied_through.get((tp.topic, tp.partition), 0) < end
                for tp, end in ends.items()
            ):
                fetched = await self._consumer.getmany(
                    timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_size
                )
                batches = {
                    tp: records
                    for tp, records in fetched.items()
                    if (tp.topic, tp.partition) in self.claims
                }
                records = [r for partition in batches.values() for r in partition]
                # An unreachable key endpoint raises here, as in ``handle``.
                decoded = await self.decoder.decode(records) if records else None
                if applying is not None:
                    await applying
                    applying = None
                    self._observe_progress()
                if decoded is None:
                    continue
                kept = await self._verified_patiently(batches)
                if kept:
                    applying = asyncio.create_task(self.handle(kept, _of(decoded, kept)))
                    read += len(kept)
        finally:
            if applying is not None:  # something failed: the batch in flight rolls back
                applying.cancel()
                await asyncio.gather(applying, return_exceptions=True)
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

    @property
    def group_id(self) -> str:
        return f"crm.{self.settings.schema}.{self.projection.name}"

    async def open(self, group: bool | None = None) -> None:
        self._group = self.settings.group if group is None else group
        await self.setup()
        settle_for_batches()
        self._conn = await self._connect()
        membership: dict[str, Any] = {}
        if self._group:
            membership = {
                "group_id": self.group_id,
                "session_timeout_ms": self.settings.session_timeout_ms,
                "heartbeat_interval_ms": self.settings.heartbeat_interval_ms,
                "rebalance_timeout_ms": self.settings.rebalance_timeout_ms,
            }
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            **membership,
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
        if self._group:
            # Positions come from our tables, in on_partitions_assigned; the group's own
            # committed offsets are never used (nothing is committed to it).
            self._consumer.subscribe(list(self.projection.topics), listener=_Rebalance(self))
        else:
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
        """Claims the partitions this consumer reads, positioned from our offsets: every
        partition of its topics, or in a group those the group gave it."""
        assert self._consumer is not None
        if self._group:
            await self._take(self._consumer.assignment())
            return
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
            index, count = self.settings.share
            partitions += [TopicPartition(topic, p) for p in sorted(ids) if p % count == index]
        self._consumer.assign(partitions)
        await self._take(partitions, patient=True)

    async def _take(
        self, partitions: set[TopicPartition] | list[TopicPartition], *, patient: bool = False
    ) -> None:
        """Claims ``partitions`` in the read model's database and seeks each to the offset
        stored there (its start if the broker no longer holds the anchor). ``patient``:
        asks a broker too slow to answer the check again (not while a group rebalances,
        which has a deadline of its own: a failed take is reclaimed later)."""
        assert self._consumer is not None and self._conn is not None
        partitions = sorted(partitions)
        self._assignment_epoch += 1
        async with self._conn.transaction():
            self.generation = await self.state.lock(self._conn)
            claimed = await self.state.claim(
                self._conn, [(tp.topic, tp.partition) for tp in partitions]
            )
        self._generation_checked = time.monotonic()
        self.positions, self.claims, self._caught_up = {}, {}, {}
        self._fenced_since = {}
        expectations = {
            tp: [Expected(position.next_offset - 1, position.anchor)]
            for tp in partitions
            if (position := claimed[(tp.topic, tp.partition)][0]).next_offset > 0
        }
        check = partial(self._verifier.diverged, expectations)
        diverged = await (self._patiently(check) if patient else check())
        for tp in partitions:
            position, claim = claimed[(tp.topic, tp.partition)]
            if tp in diverged:
                self._rewound(tp, "no longer holds the last record this read model applied")
                position = StoredPosition(0, None)
            self._consumer.seek(tp, position.next_offset)
            key = (tp.topic, tp.partition)
            self.positions[key], self.claims[key], self._caught_up[key] = position, claim, False
        if partitions:
            self._consumer.resume(*partitions)

    def _give_up(self, partitions: set[TopicPartition] | list[TopicPartition]) -> None:
        """Forgets partitions another consumer has (revoked, or claimed from under us)."""
        self._assignment_epoch += 1
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self.positions.pop(key, None)
            self.claims.pop(key, None)
            self._caught_up.pop(key, None)

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
                    async with self._batch_lock:
                        await self._assign()
                    reposition = False
                read = await self._poll_once()
                if not read:
                    await self._check_generation()
                    reposition = self._fenced_too_long() or self._reclaim
                    self._reclaim = False
            except GenerationChanged:
                log.warning(
                    "%s was reset or redriven; consuming again from its stored offsets",
                    self.projection.name,
                )
                reposition = True
                continue
            except Fenced as fenced:
                reposition = self._fenced(fenced)
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

    def _fenced(self, fenced: Fenced) -> bool:
        """Another consumer claimed some of our partitions; True: claim them back now.

        In a group that is a replica the group gave them to after it expelled this one,
        and the group will tell this one so at its next heartbeat: stop reading them. Alone,
        it is a second consumer of the same read model: take them back (its batches are
        refused in turn, so neither applies what the other did).
        """
        log.warning(
            "%s: partitions %s were claimed by another consumer; their batch was refused",
            self.projection.name,
            fenced,
        )
        if not self._group:
            return True
        assert self._consumer is not None
        lost = [TopicPartition(t, p) for t, p in fenced.partitions]
        self._give_up(lost)
        self._consumer.pause(*lost)
        now = time.monotonic()
        for tp in lost:
            self._fenced_since.setdefault(tp, now)
        return False

    def _fenced_too_long(self) -> bool:
        """A fenced partition the group still gives us after a session timeout is ours:
        whoever claimed it has left the group by then (claim it back)."""
        if not self._fenced_since or self._consumer is None:
            return False
        assigned = self._consumer.assignment()
        waited = time.monotonic() - min(self._fenced_since.values())
        stale = any(tp in assigned for tp in self._fenced_since)
        return stale and waited > self.settings.session_timeout_ms / 1000

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
        epoch = self._assignment_epoch
        batches = await self._consumer.getmany(
            timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_size
        )
        async with self._batch_lock:
            if epoch != self._assignment_epoch:
                # The partitions changed hands while fetching: this batch may come from
                # before the positions were taken, and it moved the fetcher past it.
                for (topic, partition), position in self.positions.items():
                    self._consumer.seek(TopicPartition(topic, partition), position.next_offset)
                return 0
            batches = {
                tp: records
                for tp, records in batches.items()
                if (tp.topic, tp.partition) in self.claims
            }
            records = await self._verified_and_decoded(batches) if batches else []
            self._observe_progress()
        return len(records)

    async def _verified_and_decoded(
        self, batches: dict[TopicPartition, list[Record]]
    ) -> list[Record]:
        """Applies the fetched records that continue the read model's log; returns them.

        The log check is a round trip to the broker and decoding one to the key endpoint
        (new people's data keys): both wait on another process, neither changes anything
        the other reads, so they run at the same time. A partition the check finds
        rewritten has its decoded events dropped, as in a catch-up (``_read_to``)."""
        fetched = [r for partition in batches.values() for r in partition]
        verifying = asyncio.ensure_future(self._verified(batches))
        try:
            decoded = await self.decoder.decode(fetched)
        except BaseException:
            # Not cancelled: a check half done may have moved a partition's position.
            await asyncio.gather(verifying, return_exceptions=True)
            raise
        records = await verifying
        if records:
            await self.handle(records, _of(decoded, records))
        return records

    async def _verified_patiently(
        self, batches: dict[TopicPartition, list[Record]]
    ) -> list[Record]:
        return await self._patiently(partial(self._verified, batches))

    async def _patiently(self, check: Callable[[], Awaitable[T]]) -> T:
        """A log check, asked again while the broker is too slow to answer it: a catch-up
        (or a rebuild) has no later poll to try at, and a broker that did not answer proves
        nothing either way (the embedded one, under load, can take seconds)."""
        attempt = 1
        while True:
            try:
                return await check()
            except LogUnavailable as unanswered:
                if attempt == CHECK_ATTEMPTS:
                    raise
                log.warning(
                    "%s: %s; asking again (%d of %d)",
                    self.projection.name,
                    unanswered,
                    attempt + 1,
                    CHECK_ATTEMPTS,
                )
                await asyncio.sleep(self.settings.retry_backoff_seconds * 2**attempt)
                attempt += 1

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

    async def handle(self, records: list[Record], decoded: Decoded | None = None) -> None:
        """Applies a batch durably, retrying, isolating and dead-lettering as needed
        (``decoded``: the batch's records, decoded already)."""
        if decoded is None:
            # An unreachable key endpoint raises here: the batch is tried again later.
            decoded = await self.decoder.decode(records)
        events = [e for e in decoded.events if self._follows(e)]
        poison = decoded.poison
        positions = self._positions_after(records)
        for record, error in poison:
            await self._dead_letter(record, error)
        for attempt in range(self.settings.max_retries + 1):
            try:
                await self._apply_durably(events, positions)
                return
            except (GenerationChanged, Fenced):
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

    def _follows(self, event: Envelope) -> bool:
        return isinstance(event, ReceivedEvent) or stream_kind(event.recorded_type) in self.streams

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
                except (GenerationChanged, Fenced):
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
                await self.state.save_positions(conn, positions, self.claims)
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
        applied = self.applied_through
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            key = (tp.topic, tp.partition)
            if highwater is None or key not in self.claims:
                continue
            behind = events_behind({key: highwater}, applied) or 0
            if behind == 0:
                self._caught_up[key] = True
            CONSUMER_LAG_EVENTS.labels(self.projection.name, tp.topic).set(behind)


def events_behind(
    ends: Mapping[Position, int | None], applied: Mapping[Position, int]
) -> int | None:
    """Events between what was applied and each partition's end; None while an end is not
    known (before the broker's first answer about that partition)."""
    if any(end is None for end in ends.values()):
        return None
    return sum(max((end or 0) - applied.get(position, 0), 0) for position, end in ends.items())


def _of(decoded: Decoded, records: list[Record]) -> Decoded:
    """What of a decoded batch comes from the partitions these records are from."""
    kept = {(r.topic, r.partition) for r in records}
    return Decoded(
        events=[e for e in decoded.events if (e.topic, e.partition) in kept],
        poison=[(r, error) for r, error in decoded.poison if (r.topic, r.partition) in kept],
    )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands partitions over between replicas, never in the middle of a batch."""

    def __init__(self, consumer: ProjectionConsumer) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Waits for the batch in flight, which commits or fails as a whole; after that this
        # replica reads nothing more from them until the group gives them back.
        async with self.consumer._batch_lock:
            self.consumer._give_up(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.consumer
        async with consumer._batch_lock:
            try:
                await consumer._take(assigned)
            except Exception as error:
                # Not claimed: none is read (the batches are filtered by claim) until the
                # next reposition claims them, which the failure below asks for.
                log.error(
                    "%s: cannot take partitions %s yet:\n%s",
                    consumer.projection.name,
                    sorted(assigned),
                    frames(error),
                )
                consumer._give_up(assigned)
                consumer._reclaim = True
            consumer._assigned = True
