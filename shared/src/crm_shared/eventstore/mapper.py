"""Maps domain events to stored events: the stored topic is the CloudEvents type.

The stored state is the envelope as JSON: event id, time, metadata and the catalog data,
with the data's personal fields sealed with the data subject's key (``crm_shared.privacy``),
so the event store, the topics and their backups never hold them in clear. Naming stored
events by their public type (not a Python class path) keeps the store readable by any
consumer and independent of how the code is arranged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent

from crm_shared.events import CATALOG, Catalog, DomainEvent, EventMetadata
from crm_shared.privacy.cipher import needs_sealing, reveal, seal, sealed_data_subjects
from crm_shared.privacy.keyring import DataKeyring
from crm_shared.values import RECORDED

# An erased value is left out of the data, so the field reads as its default (empty).
_LEAVE_OUT = object()


def encode_envelope(event: DomainEvent, data: dict[str, Any]) -> bytes:
    meta = event.metadata
    return orjson.dumps(
        {
            "id": str(event.id),
            "time": event.timestamp.isoformat(),
            "actor": meta.actor,
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
            "data": data,
        }
    )


class CatalogMapper(Mapper[UUID]):
    def __init__(self, keyring: DataKeyring, catalog: Catalog = CATALOG) -> None:
        self.keyring = keyring
        self.catalog = catalog

    def sealing_data_subject(self, event: DomainEvent) -> UUID | None:
        """The data subject whose key the event's data must be sealed with, if it has any."""
        if not event.data.has_personal_data():
            return None
        return event.data.data_subject(event.originator_id)

    def data_subjects_to_seal(self, events: Iterable[DomainEvent]) -> set[UUID]:
        return {s for e in events if (s := self.sealing_data_subject(e)) is not None}

    @staticmethod
    def erased_data_subjects(events: Iterable[DomainEvent]) -> list[UUID]:
        """Whose keys recording these events deletes."""
        return [e.data.data_subject(e.originator_id) for e in events if e.data.erases_data_subject]

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, DomainEvent)
        data = domain_event.data.model_dump(mode="json")
        personal = domain_event.data.personal_fields()
        if needs_sealing(data, personal):
            data_subject = domain_event.data.data_subject(domain_event.originator_id)
            data = seal(
                data,
                personal,
                key=self.keyring.sealing_key(data_subject),
                service=self.keyring.service,
                data_subject=data_subject,
            )
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=domain_event.data.type_name,
            state=encode_envelope(domain_event, data),
        )

    def to_domain_events(self, stored_events: Sequence[StoredEvent]) -> list[DomainEvent]:
        """A stream of events. An erasure anywhere in it counts for all of it: another
        process may have erased the person after this one cached their key."""
        for stored_event in stored_events:
            model = self.catalog.by_type.get(stored_event.topic)
            if model is not None and model.erases_data_subject:
                data = model.model_validate(orjson.loads(stored_event.state)["data"])
                self.keyring.forget(data.data_subject(_uuid(stored_event)))
        return [self.to_domain_event(stored_event) for stored_event in stored_events]

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEvent:
        envelope = orjson.loads(stored_event.state)
        model, data = self.catalog.resolve(stored_event.topic, envelope["data"])
        personal = model.personal_fields()
        data_subjects = sealed_data_subjects(data, personal)
        if data_subjects:
            opened = reveal(data, personal, self.keyring.lookup(data_subjects), erased=_LEAVE_OUT)
            data = {k: v for k, v in opened.items() if v is not _LEAVE_OUT}
        return DomainEvent(
            originator_id=_uuid(stored_event),
            originator_version=stored_event.originator_version,
            # Recorded before today's rules, perhaps: what was stored stays readable.
            data=model.model_validate(data, context=RECORDED),
            id=UUID(envelope["id"]),
            timestamp=datetime.fromisoformat(envelope["time"]),
            metadata=EventMetadata(
                actor=envelope.get("actor"),
                correlation_id=envelope.get("correlation_id"),
                causation_id=envelope.get("causation_id"),
            ),
        )


def _uuid(stored_event: StoredEvent) -> UUID:
    originator_id = stored_event.originator_id
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
