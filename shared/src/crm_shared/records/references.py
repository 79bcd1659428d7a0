"""References between records: which of a command's values point at another record, and
where a service finds that record for the policy to judge (``vet_references``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from crm_shared.auth.policy import Reference, Referenced
from crm_shared.events import DomainEvent
from crm_shared.records.record import CrmRecord


def references(record_type: type[CrmRecord], values: Mapping[str, Any]) -> dict[str, Reference]:
    """The references a command's values make, by the record's field that holds each (a
    null makes none: clearing a reference is always allowed)."""
    return record_type.references_in(values)


class RecordsInStore:
    """Finds referenced records among the application's own records (the policy's
    resolver): a reference names the kind of record by its noun."""

    def __init__(
        self, events_of: Callable[[UUID], list[DomainEvent]], kinds: Iterable[type[CrmRecord]]
    ) -> None:
        self.events_of = events_of
        self.kinds = {kind.noun(): kind for kind in kinds}

    async def locate(self, reference: Reference) -> Referenced | None:
        cls = self.kinds[reference.kind]
        events = await asyncio.to_thread(self.events_of, reference.target)
        record = cls.project(None, events)
        if record is None:  # no such id, or the id of another kind of record
            return None
        return Referenced(record.scope, archived=record.archived)
