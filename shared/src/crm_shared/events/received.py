"""An event as a consumer receives it: the catalog's typed data in its envelope.

A consumer decodes every record through the catalog (``crm_shared.messaging.decoding``):
an old version arrives upcast to the current one, its personal values opened and the
whole validated, so a projection matches on the data's type (``case ContactRegistered()``)
and reads typed fields.

A personal value the consumer cannot read is never in ``data``: a sealed value it has no
key for (no ``pii:read``, or a person the owner does not know) and a value whose person
was erased both read as the field's empty value (null where the field allows it, else its
default, such as an empty list; a custom field marked personal is left out). So every
typed field holds what its type says. The sealed strings themselves, opaque placeholders
to keep or to open later with a key, are in ``sealed``, by field (``custom_fields.<name>``
for a custom field). An erased value is gone: it is in neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Generic, TypeVar
from uuid import UUID

from crm_shared.events.catalog import EventData

D = TypeVar("D", bound=EventData, covariant=True)

NOTHING_SEALED: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build
class Envelope:
    """What an event's record says about it besides its data, and where it was read.
    Treat it as read-only."""

    event_id: UUID
    aggregate_id: UUID
    # The aggregate's version after this event (CloudEvents ``sequence``).
    version: int
    time: datetime
    actor: str | None
    correlation_id: str | None
    # The type the event was recorded as: an older version than ``data``'s, if upcast.
    recorded_type: str
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class ReceivedEvent(Envelope, Generic[D]):
    """An event with its data decoded into the catalog's model (upcast if need be)."""

    data: D
    # Personal values this consumer could not open: field -> the sealed string.
    sealed: Mapping[str, str] = field(default_factory=lambda: NOTHING_SEALED)

    @property
    def type_name(self) -> str:
        """The event's current type (``data``'s)."""
        return self.data.type_name
