"""Records into typed events, through the catalog: what a consumer hands its projection.

For each record of a batch:

1. The envelope comes from the CloudEvents headers; the type it was recorded as is read
   as the catalog's current model, through its upcasters. A type the catalog does not
   know is poison: the consumer dead-letters it (and parks its aggregate) rather than
   skip an event it does not understand.
2. A type the projection does not handle goes no further: it only counts, by version,
   for its aggregate's order. Its data is neither validated nor opened (a consumer opens
   no personal data it does not use).
3. The data is upcast, its sealed personal values opened (``DataKeyClient``, one key
   request per owning service for the whole batch), and then validated into the model,
   with the ``RECORDED`` context the event store reads with: what was once recorded
   stays readable. A value that cannot be read is withheld (``ReceivedEvent``).

Every record comes from a topic anyone with the broker's credentials may write to, so
every record a projection sees is validated: there is no path that trusts the writer.
Validation errors become dead letters described without the values (``failures``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from aiokafka import ConsumerRecord

from crm_shared.events.catalog import Catalog, EventData
from crm_shared.events.received import NOTHING_SEALED, Envelope, ReceivedEvent
from crm_shared.messaging.cloudevents import Attributes, read_attributes, read_data
from crm_shared.messaging.failures import SafeMessage
from crm_shared.privacy.cipher import ERASED, PREFIX, UnreadableValue, is_sealed
from crm_shared.privacy.key_client import DataKeyClient, SealedData
from crm_shared.values import RECORDED

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"

# How a sealed value starts in a record's JSON: a record without it has none to open.
SEALED_IN_JSON = f'"{PREFIX}'.encode()


class UnknownEventType(SafeMessage):
    """A record of a type the catalog does not know (a newer producer, or not ours)."""


class SupersededEventType(ValueError):
    """A projection handles a type the catalog upcasts to a newer one: it would never
    receive it."""


@dataclass
class Decoded:
    """A batch, decoded: its events in record order, and the records that are poison."""

    # ``ReceivedEvent`` for what the projection handles, a bare ``Envelope`` otherwise.
    events: list[Envelope] = field(default_factory=list)
    poison: list[tuple[Record, BaseException]] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """A record on its way to a typed event: envelope, model and data (maybe sealed)."""

    record: Record
    attributes: Attributes
    model: type[EventData]
    data: dict[str, Any]
    # It may hold a value this consumer cannot read (sealed, or erased).
    sealed: bool
    unreadable: UnreadableValue | None = None


class EventDecoder:
    def __init__(
        self,
        catalog: Catalog,
        handles: Collection[type[EventData]],
        keys: DataKeyClient | None = None,
    ) -> None:
        superseded = sorted(t.type_name for t in handles if catalog.current(t.type_name) is not t)
        if superseded:
            raise SupersededEventType(
                f"the catalog reads {', '.join(superseded)} as another type: handle that one"
            )
        self.catalog = catalog
        self.handles = frozenset(handles)
        self.keys = keys

    async def decode(self, records: Sequence[Record]) -> Decoded:
        """The batch's events; raises ``KeyServiceUnavailable`` if keys cannot be had."""
        decoded = Decoded()
        items: list[Envelope | _Pending] = []
        for record in records:
            try:
                items.append(self._read(record))
            except Exception as error:  # an upcaster may raise anything
                decoded.poison.append((record, error))
        await self._open([i for i in items if isinstance(i, _Pending) and i.sealed])
        for item in items:
            if isinstance(item, Envelope):
                decoded.events.append(item)
                continue
            try:
                decoded.events.append(self._typed(item))
            except Exception as error:
                decoded.poison.append((item.record, error))
        return decoded

    def _read(self, record: Record) -> Envelope | _Pending:
        attributes = read_attributes(record.headers)
        recorded_type = attributes[-1]
        model = self.catalog.current(recorded_type)
        if model is None:
            raise UnknownEventType(f"unknown event type {recorded_type!r}")
        if model not in self.handles:
            return Envelope(*attributes, record.topic, record.partition, record.offset)
        data = read_data(record.value)
        if recorded_type != model.type_name:
            model, data = self.catalog.resolve(recorded_type, data)
        sealed = record.value is not None and SEALED_IN_JSON in record.value
        return _Pending(record, attributes, model, data, sealed)

    async def _open(self, pending: list[_Pending]) -> None:
        """Opens the sealed values of the batch in place (if this consumer has keys)."""
        if not pending or self.keys is None:
            return
        opened = await self.keys.reveal(
            [SealedData(p.data, p.model.personal_fields()) for p in pending]
        )
        for p, result in zip(pending, opened, strict=True):
            if isinstance(result, UnreadableValue):
                p.unreadable = result
            else:
                p.data, p.sealed = result.data, not result.complete

    @staticmethod
    def _typed(p: _Pending) -> ReceivedEvent[EventData]:
        if p.unreadable is not None:
            raise p.unreadable
        sealed = _withhold(p.model, p.data) if p.sealed else NOTHING_SEALED
        data = p.model.model_validate(p.data, context=RECORDED)
        r = p.record
        return ReceivedEvent(*p.attributes, r.topic, r.partition, r.offset, data, sealed)


def _withhold(model: type[EventData], data: dict[str, Any]) -> dict[str, str]:
    """Empties, in place, every personal value that could not be opened (see
    ``ReceivedEvent``); returns the sealed ones by field."""
    sealed: dict[str, str] = {}
    for name in model.personal_fields():
        value = data.get(name)
        if isinstance(value, str) and is_sealed(value):
            sealed[name] = value
        elif value is not ERASED:
            continue
        if name in model.nullable_fields():
            data[name] = None
        else:
            del data[name]  # reads as its default
    for parent, value in list(data.items()):
        if isinstance(value, dict) and any(_sealed_custom_field(f) for f in value.values()):
            kept = {}
            for name, custom in value.items():
                if _sealed_custom_field(custom):
                    sealed[f"{parent}.{name}"] = custom["value"]
                else:
                    kept[name] = custom
            data[parent] = kept
    return sealed


def _sealed_custom_field(value: Any) -> bool:
    return (
        isinstance(value, dict) and value.get("personal") is True and is_sealed(value.get("value"))
    )
