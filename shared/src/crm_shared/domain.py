"""Base for event-sourced aggregates: pure Python, no I/O.

A command method checks its rules and calls ``self._trigger(SomeEventData(...))``. Each
event type has exactly one method that applies it, marked ``@applies(SomeEventData)``;
replaying the stored events through those methods rebuilds the aggregate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID

from crm_shared.events import DomainEvent, EventData

A = TypeVar("A", bound="Aggregate")
Applier = Callable[[Any, Any], None]


class DomainError(Exception):
    """A business rule refused a command. Subclasses name the rule, each under one of the
    kinds of refusal below, which say what the refusal means to the caller; how a protocol
    answers each kind (an HTTP status) is decided in one place, ``crm_shared.http.problems``.
    """

    code = "domain_error"


class NotFound(DomainError):
    """No such record, or one out of the caller's sight (the same answer, on purpose)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller may see the record but not do this to it."""

    code = "forbidden"


class Conflict(DomainError):
    """The record's state refuses the command now (archived, changed at the same moment)."""

    code = "conflict"


class Gone(DomainError):
    """The record, or the person it is about, is gone for good (erased)."""

    code = "gone"


class Invalid(DomainError):
    """The command's values break a rule. ``field`` names the command's field at fault, as
    a request names it (``account_id``), where one is."""

    code = "validation_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PreconditionFailed(DomainError):
    """The caller's condition on the command (the version it last read) does not hold."""

    code = "precondition_failed"


# Every domain error is a kind of one of these.
REFUSALS: tuple[type[DomainError], ...] = (
    NotFound,
    Forbidden,
    Conflict,
    Gone,
    Invalid,
    PreconditionFailed,
)


def applies(event_class: type[EventData]) -> Callable[[Applier], Applier]:
    def mark(method: Applier) -> Applier:
        method.__applies__ = event_class  # type: ignore[attr-defined]
        return method

    return mark


class Aggregate:
    appliers: ClassVar[dict[type[EventData], Applier]]
    creation_events: ClassVar[tuple[type[EventData], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.appliers = {}
        for klass in reversed(cls.__mro__):
            for member in vars(klass).values():
                event_class = getattr(member, "__applies__", None)
                if event_class is not None:
                    cls.appliers[event_class] = member

    def __init__(self, id: UUID) -> None:
        self.id = id
        self.version = 0
        self._pending: list[DomainEvent] = []

    def _trigger(self, data: EventData) -> None:
        event = DomainEvent(originator_id=self.id, originator_version=self.version + 1, data=data)
        self._apply(event)
        self._pending.append(event)

    def _apply(self, event: DomainEvent) -> None:
        try:
            applier = self.appliers[type(event.data)]
        except KeyError:
            raise NotFound(f"{type(self).__name__} {self.id} not found") from None
        # Set first, so an applier can record when its event happened.
        self.last_modified = event.timestamp
        applier(self, event.data)
        self.version = event.originator_version
        if self.version == 1:
            self.created_on = event.timestamp

    def collect_events(self) -> list[DomainEvent]:
        pending, self._pending = self._pending, []
        return pending

    @classmethod
    def project(cls, aggregate: Self | None, events: Iterable[DomainEvent]) -> Self | None:
        """Projector for eventsourcing's repository: replays stored events."""
        for event in events:
            if aggregate is None:
                if type(event.data) not in cls.creation_events:
                    # The id belongs to another kind of aggregate: not one of ours.
                    return None
                aggregate = cls.__new__(cls)
                Aggregate.__init__(aggregate, event.originator_id)
            aggregate._apply(event)
        return aggregate
