"""Group commit: concurrent commands share one database transaction.

Every command runs on its own fresh copy of the aggregates it touches; a batch never
holds two commands for the same aggregate (the later one waits for the next batch), so a
command that fails changes nothing for the others. All events of a batch, and the
idempotency keys of its commands, are inserted in one transaction. If that transaction
conflicts (another process wrote the same aggregate version, or the same idempotency key
was used twice), the batch is replayed one command per transaction, so only the
conflicting command fails.

A command may touch more aggregates than its own (``also_touches``): they are loaded with
it, their events stored in the same transaction, and no other command of its batch
touches them (assigning a lead moves the assignment rules' turn: both or neither).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import AsyncConnection

from crm_shared.domain import (
    A,
    Aggregate,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.eventstore.recorder import IdempotencyRecord, KeyChanges, append_parameters
from crm_shared.observability.metrics import COMMAND_BATCH_SIZE, EVENTS_APPENDED
from crm_shared.privacy.cipher import PREFIX, open_bytes, seal_bytes, sealed_by
from crm_shared.privacy.keyring import DataSubjectErased

log = logging.getLogger(__name__)

R = TypeVar("R")
SEALED_PREFIX = PREFIX.encode()


class ConcurrencyConflict(Conflict):
    """Someone else changed the aggregate at the same moment: the caller may retry."""

    code = "conflict"


class VersionMismatch(PreconditionFailed):
    """The client's expected version (``If-Match``) is not the current one."""

    code = "precondition_failed"


class IdempotencyKeyReused(Invalid):
    """The same idempotency key came with a different request."""

    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command answers: the aggregate it changed, its new version, a JSON body."""

    aggregate_id: UUID
    version: int
    body: bytes
    replayed: bool = False


class UnitOfWork:
    """What a command sees: the aggregates it touches (loaded with the batch) or creates,
    and any it only reads (loaded with the batch too, as they stood before it)."""

    def __init__(self, preloaded: dict[UUID, list[Any]]) -> None:
        self._preloaded = preloaded
        self.aggregates: dict[UUID, Aggregate] = {}

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        if aggregate_id not in self._preloaded:
            raise LookupError(f"{aggregate_id} was not declared as the command's aggregate")
        aggregate = cls.project(None, self._preloaded[aggregate_id])
        if aggregate is None:
            raise NotFound(f"{cls.__name__.lower()} {aggregate_id} not found")
        self.aggregates[aggregate_id] = aggregate
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        self.aggregates[aggregate.id] = aggregate


def check_version(aggregate: Aggregate, expected_version: int | None) -> None:
    """Refuses a command whose caller read an older version (If-Match)."""
    if expected_version is not None and aggregate.version != expected_version:
        raise VersionMismatch(
            f"{type(aggregate).__name__.lower()} {aggregate.id} is at version "
            f"{aggregate.version}, not {expected_version}"
        )


CommandFn = Callable[[UnitOfWork], Outcome]


@dataclass(slots=True)
class PendingCommand:
    run: CommandFn
    touches: UUID
    creates: bool
    metadata: EventMetadata
    idempotency_key: str | None
    fingerprint: str
    future: asyncio.Future[Outcome]
    # Aggregates the command reads but does not change (a deal's pipeline, say).
    reads: tuple[UUID, ...] = ()
    # Filled in while the batch executes:
    events: list[DomainEvent] = field(default_factory=list)
    outcome: Outcome | None = None
    also_touches: tuple[UUID, ...] = ()

    @property
    def touched(self) -> tuple[UUID, ...]:
        return (self.touches, *self.also_touches)

    @property
    def loads(self) -> tuple[UUID, ...]:
        """What its unit of work loads: not the aggregate it creates (there is none yet)."""
        return (*(self.also_touches if self.creates else self.touched), *self.reads)


def fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


class GroupCommitter:
    """Runs commands in batches, each batch one transaction, on the event loop.

    The database work is one query to load the batch's aggregates and one to append its
    events, both on an async connection: no thread hand-offs on the hot path (with a
    writer thread, every answer from the database waited for the event loop to give up
    the GIL).
    """

    def __init__(
        self,
        app: EventSourcedApplication,
        database_url: str,
        *,
        max_batch: int = 500,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.database_url = database_url
        self.max_batch = max_batch
        self.on_commit = on_commit
        self._waiting: deque[PendingCommand] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection[Any] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()

    async def submit(
        self,
        run: CommandFn,
        *,
        touches: UUID,
        creates: bool = False,
        metadata: EventMetadata,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        also_touches: Sequence[UUID] = (),
        reads: tuple[UUID, ...] = (),
    ) -> Outcome:
        """Runs ``run`` in the next batch, with ``touches``, ``also_touches`` and ``reads``
        loaded in the batch's one query (a command that needs another aggregate's state
        need not load it on its own first). What it only reads it may not change."""
        if idempotency_key is not None:
            # The common retry finds its answer without queueing.
            previous = await self._find_idempotency_record(idempotency_key)
            if previous is not None:
                return _replay(previous, fingerprint)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(
            PendingCommand(
                run,
                touches,
                creates,
                metadata,
                idempotency_key,
                fingerprint,
                future,
                reads,
                also_touches=tuple(also_touches),
            )
        )
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiting:
                batch = self._take_batch()
                try:
                    await self._execute(batch)
                except Exception as error:  # the database is gone: fail this batch only
                    log.exception("command batch failed")
                    await self._disconnect()
                    for command in batch:
                        if not command.future.done():
                            command.future.set_exception(error)
                    continue
                for command in batch:
                    if not command.future.done() and command.outcome is not None:
                        command.future.set_result(command.outcome)
                if self.on_commit is not None:
                    self.on_commit()

    def _take_batch(self) -> list[PendingCommand]:
        batch: list[PendingCommand] = []
        seen: set[UUID] = set()
        keys: set[str] = set()
        held: list[PendingCommand] = []
        while self._waiting and len(batch) < self.max_batch:
            command = self._waiting.popleft()
            if command.future.cancelled():
                continue
            if seen.intersection(command.touched) or (command.idempotency_key in keys):
                held.append(command)
                continue
            seen.update(command.touched)
            if command.idempotency_key is not None:
                keys.add(command.idempotency_key)
            batch.append(command)
        self._waiting.extendleft(reversed(held))
        return batch

    async def _execute(self, batch: list[PendingCommand]) -> None:
        preloaded = await self._load([i for c in batch for i in c.loads])
        ready = [c for c in batch if self._decide(c, preloaded)]
        if not ready:
            return
        try:
            await self._store(ready)
        except psycopg.IntegrityError:
            log.info("batch of %d conflicted; retrying one command at a time", len(ready))
            for command in ready:
                await self._execute_alone(command)

    async def _execute_alone(self, command: PendingCommand) -> None:
        command.events.clear()
        command.outcome = None
        preloaded = await self._load(list(command.loads))
        if not self._decide(command, preloaded):
            return
        try:
            await self._store([command])
        except psycopg.IntegrityError:
            await self._resolve_conflict(command)

    async def _resolve_conflict(self, command: PendingCommand) -> None:
        if command.idempotency_key is not None:
            previous = await self._find_idempotency_record(command.idempotency_key)
            if previous is not None:
                try:
                    command.outcome = _replay(previous, command.fingerprint)
                except IdempotencyKeyReused as reused:
                    self._fail(command, reused)
                return
        self._fail(command, ConcurrencyConflict(f"concurrent change to {command.touches}; retry"))

    def _decide(self, command: PendingCommand, preloaded: dict[UUID, list[Any]]) -> bool:
        """Runs the command's domain logic; False if it was refused."""
        unit = UnitOfWork(preloaded)
        try:
            outcome = command.run(unit)
        except DomainError as refusal:
            self._fail(command, refusal)
            return False
        except Exception as error:
            log.exception("command failed")
            self._fail(command, error)
            return False
        for aggregate in unit.aggregates.values():
            events = aggregate.collect_events()
            if events and aggregate.id not in command.touched:
                # Only what a batch touches is kept apart from its other commands.
                self._fail(command, LookupError(f"{aggregate.id} was only read, not touched"))
                return False
            for event in events:
                event.metadata = command.metadata
                command.events.append(event)
        command.outcome = outcome
        return True

    # --- the database ------------------------------------------------------------------

    async def _connection(self) -> AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await AsyncConnection.connect(self.database_url, autocommit=True)
        return self._conn

    async def _disconnect(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _load(self, ids: list[UUID]) -> dict[UUID, list[Any]]:
        """The stored events of the given aggregates, in one query (and their data keys,
        unless cached, in one more)."""
        ids = list(dict.fromkeys(ids))  # a pipeline read by several commands, once
        if not ids:
            return {}
        conn = await self._connection()
        await self.app.keyring.prefetch(conn, ids)
        cursor = await conn.execute(
            self.app.crm_recorder.select_many_statement, (ids,), prepare=True
        )
        stored: dict[UUID, list[StoredEvent]] = {aggregate_id: [] for aggregate_id in ids}
        for originator_id, version, topic, state in await cursor.fetchall():
            stored[originator_id].append(StoredEvent(originator_id, version, topic, bytes(state)))
        to_events = self.app.catalog_mapper.to_domain_events
        return {aggregate_id: to_events(events) for aggregate_id, events in stored.items()}

    async def _store(self, commands: list[PendingCommand]) -> None:
        mapper, keyring = self.app.catalog_mapper, self.app.keyring
        conn = await self._connection()
        subjects = {id(c): mapper.data_subjects_to_seal(c.events) for c in commands}
        new_keys, erased = await keyring.prepare(
            conn, set().union(*subjects.values()), {c.touches for c in commands if c.creates}
        )
        for command in [c for c in commands if subjects[id(c)] & erased]:
            self._fail(command, DataSubjectErased("the person was erased; nothing can be added"))
            commands.remove(command)
        erasing = mapper.erased_data_subjects(e for command in commands for e in command.events)
        try:
            stored = [mapper.to_stored_event(e) for command in commands for e in command.events]
            idempotency = [
                IdempotencyRecord(
                    c.idempotency_key,
                    c.fingerprint,
                    c.outcome.aggregate_id,
                    c.outcome.version,
                    c.outcome.body
                    if c.outcome.aggregate_id in erasing
                    else self._seal_body(c.outcome),
                )
                for c in commands
                if c.idempotency_key is not None and c.outcome is not None
            ]
            changes = KeyChanges(keyring.wrapper.key_id, new_keys.wrapped, erasing)
            await conn.execute(
                self.app.crm_recorder.append_statement,
                append_parameters(stored, idempotency, changes),
                prepare=True,
            )
        except BaseException:
            keyring.discard()
            raise
        keyring.stored(new_keys, changes.erased)
        COMMAND_BATCH_SIZE.observe(len(commands))
        EVENTS_APPENDED.labels(service=self.app.name).inc(len(stored))

    def _seal_body(self, outcome: Outcome) -> bytes:
        """A stored response repeats the record's data: sealed like its events."""
        try:
            key = self.app.keyring.sealing_key(outcome.aggregate_id)
        except LookupError:
            return outcome.body  # the record holds no personal data
        service = self.app.keyring.service
        return seal_bytes(
            outcome.body, key=key, service=service, data_subject=outcome.aggregate_id
        ).encode()

    async def _find_idempotency_record(self, key: str) -> IdempotencyRecord | None:
        conn = await self._connection()
        cursor = await conn.execute(self.app.crm_recorder.select_idempotency_statement, (key,))
        row = await cursor.fetchone()
        if row is None:
            return None
        fingerprint, aggregate_id, version, body = row
        body = bytes(body)
        if body.startswith(SEALED_PREFIX):
            sealed = body.decode()
            owner = sealed_by(sealed)
            await self.app.keyring.prefetch(conn, [aggregate_id])
            data_key = self.app.keyring.lookup([owner]).get(owner)
            if not isinstance(data_key, bytes):
                raise DataSubjectErased("the person this request created or changed was erased")
            body = open_bytes(sealed, data_key)
        return IdempotencyRecord(key, fingerprint, aggregate_id, version, body)

    def _fail(self, command: PendingCommand, error: BaseException) -> None:
        command.outcome = None
        if not command.future.done():
            command.future.set_exception(error)


def _replay(previous: IdempotencyRecord, request_fingerprint: str) -> Outcome:
    if previous.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request")
    return Outcome(previous.aggregate_id, previous.version, previous.body, replayed=True)
