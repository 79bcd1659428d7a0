"""One catalog of event types for every service.

Each event type is a pydantic model of the event's data (what goes in the Kafka record
value), registered under its CloudEvents type ``crm.<service>.<aggregate>.<event>.v<N>``.
Additive changes keep the version; a breaking change registers a new version plus an
upcaster from the old one, so old events stay readable forever: the event store and every
consumer read an old version through its upcasters, as the current one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import NoneType
from typing import Any, ClassVar, TypeVar, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PERSONAL = "x-personal"


def personal(default: Any = ..., **kwargs: Any) -> Any:
    """A field holding personal data (GDPR): marked in the JSON Schema as ``x-personal``."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[PERSONAL] = True
    return Field(default, json_schema_extra=extra, **kwargs)


class EventData(BaseModel):
    """Base of every event payload. Frozen and strict: unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    service: ClassVar[str]
    aggregate: ClassVar[str]
    version: ClassVar[int]
    # Whose personal data the event carries (sealed with their key): the field naming
    # them, or None for the aggregate itself (a contact's own events).
    data_subject_field: ClassVar[str | None] = None
    # An erasure: recording the event deletes the data subject's data key.
    erases_data_subject: ClassVar[bool] = False
    # One realistic instance of the data, as recorded (JSON, personal values in clear).
    # The published JSON Schema and AsyncAPI show it as subscribers get it, and the
    # contract tests publish and decode it; the catalog refuses one that does not
    # validate, and a test requires one of every type the CRM registers.
    example: ClassVar[dict[str, Any] | None] = None

    def has_personal_data(self) -> bool:
        """Whether anything here must be sealed: a personal field, or a custom field
        marked personal."""
        if any(getattr(self, name) not in (None, [], {}) for name in self.personal_fields()):
            return True
        return any(
            getattr(item, "personal", False) is True
            for value in self.__dict__.values()
            if isinstance(value, dict)
            for item in value.values()
        )

    def data_subject(self, aggregate_id: UUID) -> UUID:
        if self.data_subject_field is None:
            return aggregate_id
        data_subject = getattr(self, self.data_subject_field)
        assert isinstance(data_subject, UUID), f"{self.data_subject_field} must name a data subject"
        return data_subject

    @classmethod
    @cache
    def personal_fields(cls) -> frozenset[str]:
        return frozenset(
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(PERSONAL)
        )

    @classmethod
    @cache
    def nullable_fields(cls) -> frozenset[str]:
        """The fields that may hold null."""
        return frozenset(
            name
            for name, info in cls.model_fields.items()
            if info.annotation is None or NoneType in get_args(info.annotation)
        )


E = TypeVar("E", bound=type[EventData])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Catalog:
    by_type: dict[str, type[EventData]] = field(default_factory=dict)
    upcasters: dict[str, tuple[str, Upcaster]] = field(default_factory=dict)

    def register(self, cls: type[EventData]) -> None:
        if cls.type_name in self.by_type and self.by_type[cls.type_name] is not cls:
            raise ValueError(f"event type {cls.type_name} is registered twice")
        # A consumer that cannot open a personal value reads the field as empty: only a
        # field with a default can be empty.
        required = sorted(f for f in cls.personal_fields() if cls.model_fields[f].is_required())
        if required:
            raise ValueError(f"{cls.type_name}: personal fields need a default: {required}")
        if cls.example is not None:
            try:
                cls.model_validate(cls.example)
            except ValidationError as error:
                raise ValueError(f"{cls.type_name}: its example is not valid: {error}") from None
        self.by_type[cls.type_name] = cls

    def register_upcaster(self, old_type: str, new_type: str, upcast: Upcaster) -> None:
        """Reads ``old_type``'s data as ``new_type``'s, on the write and the read side.
        An upcaster gets the data as stored, its personal values still sealed: it may move
        or drop them, not read them (they are opened as the new type's personal fields)."""
        self.upcasters[old_type] = (new_type, upcast)

    def current(self, type_name: str) -> type[EventData] | None:
        """The model a stored type name is read as (through its upcasters), if known."""
        while type_name in self.upcasters:
            type_name = self.upcasters[type_name][0]
        return self.by_type.get(type_name)

    def resolve(
        self, type_name: str, data: dict[str, Any]
    ) -> tuple[type[EventData], dict[str, Any]]:
        """The current model for a stored type name, upcasting old versions' data."""
        while type_name in self.upcasters:
            type_name, upcast = self.upcasters[type_name]
            data = upcast(data)
        try:
            return self.by_type[type_name], data
        except KeyError:
            raise LookupError(f"unknown event type {type_name!r}") from None

    def model(self, type_name: str) -> type[EventData]:
        return self.by_type[type_name]

    def for_service(self, service: str) -> list[type[EventData]]:
        return sorted(
            (cls for cls in self.by_type.values() if cls.service == service),
            key=lambda cls: cls.type_name,
        )

    def services(self) -> list[str]:
        return sorted({cls.service for cls in self.by_type.values()})


CATALOG = Catalog()


def stream_kind(type_name: str) -> str:
    """``<service>.<aggregate>`` of a type name ``crm.<service>.<aggregate>.<event>.v<N>``:
    every event of one stream (one aggregate) is of one kind (tests/unit/test_streams.py)."""
    _, service, aggregate, *_ = type_name.split(".")
    return f"{service}.{aggregate}"


def event_type(
    service: str, aggregate: str, name: str, version: int = 1, *, catalog: Catalog = CATALOG
) -> Callable[[E], E]:
    """Class decorator naming and registering an event type in the catalog (another
    catalog than the one every service shares: for tests)."""

    def register(cls: E) -> E:
        cls.service = service
        cls.aggregate = aggregate
        cls.version = version
        cls.type_name = f"crm.{service}.{aggregate}.{name}.v{version}"
        catalog.register(cls)
        return cls

    return register
