"""An event store in memory, for specifications: streams in a dict, and commands run one
at a time exactly as group commit runs each of its batch (a fresh copy of the aggregate,
the command's events stored with its idempotency key, or nothing at all)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.group_commit import (
    CommandFn,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    Outcome,
    UnitOfWork,
)


class InMemoryEventStore:
    def __init__(self, events: Iterable[DomainEvent] = ()) -> None:
        self.streams: dict[UUID, list[DomainEvent]] = {}
        # What commands recorded, in order (the events given beforehand are not here).
        self.recorded: list[DomainEvent] = []
        self._answers: dict[str, tuple[str, Outcome]] = {}
        self._append(events)

    def _append(self, events: Iterable[DomainEvent]) -> None:
        """All or nothing, as the events table's key (id, version) makes it."""
        events = list(events)
        versions = {i: len(stream) for i, stream in self.streams.items()}
        for event in events:
            at = versions.get(event.originator_id, 0)
            if event.originator_version != at + 1:
                raise ConcurrencyConflict(f"concurrent change to {event.originator_id}; retry")
            versions[event.originator_id] = at + 1
        for event in events:
            self.streams.setdefault(event.originator_id, []).append(event)

    def events_of(self, aggregate_id: UUID) -> list[DomainEvent]:
        return list(self.streams.get(aggregate_id, ()))

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
        if idempotency_key is not None and idempotency_key in self._answers:
            first_fingerprint, outcome = self._answers[idempotency_key]
            if first_fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different request"
                )
            return Outcome(outcome.aggregate_id, outcome.version, outcome.body, replayed=True)
        loads = [*([] if creates else [touches]), *also_touches, *reads]
        unit = UnitOfWork({aggregate_id: self.events_of(aggregate_id) for aggregate_id in loads})
        outcome = run(unit)
        events = [e for aggregate in unit.aggregates.values() for e in aggregate.collect_events()]
        for event in events:
            event.metadata = metadata
        self._append(events)
        self.recorded.extend(events)
        if idempotency_key is not None:
            self._answers[idempotency_key] = (fingerprint, outcome)
        return outcome
