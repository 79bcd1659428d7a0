"""The domain event: catalog data plus the envelope the event store and Kafka carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from crm_shared.events.catalog import EventData


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Who caused an event and in which conversation: recorded with every event."""

    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


NO_METADATA = EventMetadata()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class DomainEvent:
    """One event of one aggregate.

    Satisfies eventsourcing's ``DomainEventProtocol`` (originator id and version), so the
    library's event store, recorders and repository carry it unchanged.
    """

    originator_id: UUID
    originator_version: int
    data: EventData
    id: UUID = field(default_factory=uuid4)
    timestamp: datetime = field(default_factory=_now)
    metadata: EventMetadata = NO_METADATA

    @property
    def type_name(self) -> str:
        return self.data.type_name
