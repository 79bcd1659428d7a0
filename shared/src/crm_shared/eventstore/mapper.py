"""Maps domain events to stored events: the stored topic is the CloudEvents type.

The stored state is the envelope as JSON: event id, time, metadata and the catalog data.
Naming stored events by their public type (not a Python class path) keeps the store
readable by any consumer and independent of how the code is arranged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent

from crm_shared.events import CATALOG, Catalog, DomainEvent, EventMetadata


def encode_envelope(event: DomainEvent) -> bytes:
    meta = event.metadata
    return orjson.dumps(
        {
            "id": str(event.id),
            "time": event.timestamp.isoformat(),
            "actor": meta.actor,
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
            "data": event.data.model_dump(mode="json"),
        }
    )


class CatalogMapper(Mapper[UUID]):
    def __init__(self, catalog: Catalog = CATALOG) -> None:
        self.catalog = catalog

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, DomainEvent)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=domain_event.data.type_name,
            state=encode_envelope(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEvent:
        envelope = orjson.loads(stored_event.state)
        model, data = self.catalog.resolve(stored_event.topic, envelope["data"])
        originator_id = stored_event.originator_id
        return DomainEvent(
            originator_id=originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            originator_version=stored_event.originator_version,
            data=model.model_validate(data),
            id=UUID(envelope["id"]),
            timestamp=datetime.fromisoformat(envelope["time"]),
            metadata=EventMetadata(
                actor=envelope.get("actor"),
                correlation_id=envelope.get("correlation_id"),
                causation_id=envelope.get("causation_id"),
            ),
        )
