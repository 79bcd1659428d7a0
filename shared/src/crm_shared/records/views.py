"""What the API shows of every CRM record. A kind of record's view adds its own fields,
named as the aggregate's attributes, and ``of`` fills them in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self, cast
from uuid import UUID

from pydantic import BaseModel

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
