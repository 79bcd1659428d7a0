"""The shapes of the events every CRM record has. Each kind of record registers its own
event types on them (``ContactArchived(ArchivedData)``), so that its topic says what
happened to which kind of record."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from crm_shared.events.catalog import EventData, personal
from crm_shared.values import Channel, ConsentChannel, Direction


class Changes(EventData):
    """Only the fields a change touched are serialised: absent means unchanged, null cleared."""

    @model_serializer(mode="wrap")
    def _only_changed(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}


class ArchivedData(EventData):
    reason: str | None = None


class ReassignedData(EventData):
    owner: str | None
    department: str


class InteractionData(EventData):
    interaction_id: UUID
    channel: Channel
    direction: Direction
    subject: str | None = personal(None)
    notes: str | None = personal(None)
    occurred_at: datetime
    by: str | None = Field(None, description="Who had the interaction (user id)")


class ConsentData(EventData):
    channel: ConsentChannel
    source: str | None = None
    at: datetime
