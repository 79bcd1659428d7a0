"""What the API shows of every CRM record. A kind of record's view adds its own fields,
named as the aggregate's attributes, and ``of`` fills them in; a service registers each
kind of record once with its view (``RecordKind``), and every answer renders through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Self, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel

from crm_shared.eventstore.group_commit import Outcome
from crm_shared.records.record import CrmRecord
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction


class InteractionView(BaseModel):
    id: UUID
    channel: Channel
    direction: Direction
    subject: str | None
    notes: str | None
    occurred_at: datetime
    by: str | None


class ConsentView(BaseModel):
    status: ConsentStatus
    source: str | None
    at: datetime


class RecordView(BaseModel):
    id: UUID
    version: int
    owner: str | None
    department: str
    archived: bool
    interactions: list[InteractionView]
    consents: dict[ConsentChannel, ConsentView]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: CrmRecord) -> Self:
        """The record as the API shows it. Built without validation: the aggregate holds
        only what its events recorded, which may predate today's request rules."""
        own = {name: getattr(record, name) for name in _own_fields(cls)}
        return cast(Self, cls.model_construct(**_record_fields(record), **own))


R = TypeVar("R", bound=CrmRecord)


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    """One kind of record a service keeps: its aggregate, and the view the API shows."""

    aggregate: type[R]
    view: type[RecordView]

    def outcome(self, record: CrmRecord) -> Outcome:
        return Outcome(record.id, record.version, self.view.of(record).model_dump_json().encode())

    def view_json(self, record: CrmRecord) -> dict[str, Any]:
        return self.view.of(record).model_dump(mode="json")


def _own_fields(view: type[RecordView]) -> list[str]:
    return [name for name in view.model_fields if name not in RecordView.model_fields]


def _record_fields(record: CrmRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "version": record.version,
        "owner": record.owner,
        "department": record.department,
        "archived": record.archived,
        "interactions": [
            InteractionView(
                id=i.interaction_id,
                channel=i.channel,
                direction=i.direction,
                subject=i.subject,
                notes=i.notes,
                occurred_at=i.occurred_at,
                by=i.by,
            )
            for i in record.interactions
        ],
        "consents": {
            c.channel: ConsentView(status=c.status, source=c.source, at=c.at)
            for c in record.consents.values()
        },
        "created_at": record.created_on,
        "updated_at": record.last_modified,
    }
