"""Group commit: concurrent commands share one database transaction.

Every command runs on its own fresh copy of the aggregates it touches; a batch never
holds two commands for the same aggregate (the later one waits for the next batch), so a
command that fails changes nothing for the others. All events of a batch, and the
idempotency keys of its commands, are inserted in one transaction. If that transaction
conflicts (another process wrote the same aggregate version, or the same idempotency key
was used twice), the batch is replayed one command per transaction, so only the
conflicting command fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from crm_shared.domain import A, Aggregate, DomainError, NotFound
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.eventstore.recorder import IdempotencyRecord
from crm_shared.observability.metrics import COMMAND_BATCH_SIZE, EVENTS_APPENDED

log = logging.getLogger(__name__)

R = TypeVar("R")


class ConcurrencyConflict(DomainError):
    """Someone else changed the aggregate at the same moment: the caller may retry."""

    code = "conflict"


class VersionMismatch(DomainError):
    """The client's expected version (``If-Match``) is not the current one."""

    code = "precondition_failed"


class IdempotencyKeyReused(DomainError):
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
    """What a command sees: the aggregates it loads or creates, nothing else."""

    def __init__(self, app: EventSourcedApplication, preloaded: dict[UUID, list[Any]]) -> None:
        self._app = app
        self._preloaded = preloaded
        self.aggregates: dict[UUID, Aggregate] = {}

    def get(self, cls: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        if aggregate_id in self._preloaded:
            # Loaded with the rest of the batch in one round trip.
            aggregate = cls.project(None, self._preloaded.get(aggregate_id, ()))
            if aggregate is None:
                raise NotFound(f"{cls.__name__.lower()} {aggregate_id} not found")
        else:
            aggregate = self._app.load(cls, aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatch(
                f"{cls.__name__.lower()} {aggregate_id} is at version {aggregate.version}, "
                f"not {expected_version}"
            )
        self.aggregates[aggregate_id] = aggregate
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        self.aggregates[aggregate.id] = aggregate


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
    # Filled in while the batch executes:
    events: list[DomainEvent] = field(default_factory=list)
    outcome: Outcome | None = None


def fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


class GroupCommitter:
    def __init__(
        self,
        app: EventSourcedApplication,
        *,
        max_batch: int = 500,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.max_batch = max_batch
        self.on_commit = on_commit
        self._waiting: deque[PendingCommand] = deque()
        self._wakeup = asyncio.Event()
        # One writer thread: batches are serialised by the event table lock anyway.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def submit(
        self,
        run: CommandFn,
        *,
        touches: UUID,
        creates: bool = False,
        metadata: EventMetadata,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> Outcome:
        if idempotency_key is not None:
            # The common retry finds its answer without queueing.
            previous = await asyncio.get_running_loop().run_in_executor(
                None, self.app.store.find_idempotency_record, idempotency_key
            )
            if previous is not None:
                return _replay(previous, fingerprint)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(
            PendingCommand(
                run, touches, creates, metadata, idempotency_key, fingerprint, future
            )
        )
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiting:
                batch = self._take_batch()
                try:
                    await loop.run_in_executor(self._executor, self._execute, batch)
                except Exception as error:  # the database is gone: fail this batch only
                    log.exception("command batch failed")
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
            if command.touches in seen or (command.idempotency_key in keys):
                held.append(command)
                continue
            seen.add(command.touches)
            if command.idempotency_key is not None:
                keys.add(command.idempotency_key)
            batch.append(command)
        self._waiting.extendleft(reversed(held))
        return batch

    # --- runs in the writer thread -------------------------------------------------

    def _execute(self, batch: list[PendingCommand]) -> None:
        to_load = [c.touches for c in batch if not c.creates]
        preloaded = self.app.load_many(to_load) if to_load else {}
        for aggregate_id in to_load:
            preloaded.setdefault(aggregate_id, [])
        ready = [c for c in batch if self._decide(c, preloaded)]
        if not ready:
            return
        try:
            self._store(ready)
        except IntegrityError:
            log.info("batch of %d conflicted; retrying one command at a time", len(ready))
            for command in ready:
                self._execute_alone(command)

    def _execute_alone(self, command: PendingCommand) -> None:
        command.events.clear()
        command.outcome = None
        if not self._decide(command, {}):
            return
        try:
            self._store([command])
        except IntegrityError as error:
            self._resolve_conflict(command, error)

    def _resolve_conflict(self, command: PendingCommand, error: IntegrityError) -> None:
        if command.idempotency_key is not None:
            previous = self.app.store.find_idempotency_record(command.idempotency_key)
            if previous is not None:
                try:
                    command.outcome = _replay(previous, command.fingerprint)
                except IdempotencyKeyReused as reused:
                    self._fail(command, reused)
                return
        self._fail(command, ConcurrencyConflict(f"concurrent change to {command.touches}; retry"))

    def _decide(self, command: PendingCommand, preloaded: dict[UUID, list[Any]]) -> bool:
        """Runs the command's domain logic; False if it was refused."""
        unit = UnitOfWork(self.app, preloaded)
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
            for event in aggregate.collect_events():
                event.metadata = command.metadata
                command.events.append(event)
        command.outcome = outcome
        return True

    def _store(self, commands: list[PendingCommand]) -> None:
        events = [event for command in commands for event in command.events]
        records = [
            IdempotencyRecord(
                key=c.idempotency_key,
                fingerprint=c.fingerprint,
                aggregate_id=c.outcome.aggregate_id,
                version=c.outcome.version,
                body=c.outcome.body,
            )
            for c in commands
            if c.idempotency_key is not None and c.outcome is not None
        ]
        self.app.events.put(events, idempotency=records)
        COMMAND_BATCH_SIZE.observe(len(commands))
        EVENTS_APPENDED.labels(service=self.app.name).inc(len(events))

    def _fail(self, command: PendingCommand, error: BaseException) -> None:
        command.outcome = None
        loop = self._loop
        assert loop is not None

        def settle() -> None:
            if not command.future.done():
                command.future.set_exception(error)

        loop.call_soon_threadsafe(settle)


def _replay(previous: IdempotencyRecord, request_fingerprint: str) -> Outcome:
    if previous.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request"
        )
    return Outcome(previous.aggregate_id, previous.version, previous.body, replayed=True)
