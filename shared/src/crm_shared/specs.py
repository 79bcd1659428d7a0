"""Specifications of a service's commands: given these past events, when this command by
this caller, then these new events, or this refusal.

They run the service's own application (policy, references, domain, rendering) over an
event store in memory: no PostgreSQL, no Kafka, a millisecond or so each. The wiring to
the database, the broker and HTTP is proven once by the integration and end-to-end tests;
every rule of a service is a specification here.

    spec = Specification(lambda store: ContactsApplication(store, store))

    async def test_an_archived_contact_takes_no_changes() -> None:
        await (
            spec.given({ada: [registered(), ContactArchived()]})
            .when(ChangeContact(record_id=ada, changes={"job_title": "CTO"}), by=owner)
            .then_refused(RecordArchived)
        )
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from crm_shared.auth.principal import Principal
from crm_shared.commands import CommandContext
from crm_shared.domain import DomainError, Invalid
from crm_shared.events import DomainEvent, EventData, EventMetadata
from crm_shared.eventstore.group_commit import Outcome
from crm_shared.eventstore.in_memory import InMemoryEventStore

# When the given events happened (a minute apart, in the past), and who caused them.
GIVEN_FROM = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE = EventMetadata(actor="user:someone-before")


class Handles(Protocol):
    async def handle(self, command: Any, context: CommandContext) -> Outcome: ...


App = TypeVar("App", bound=Handles)
E = TypeVar("E", bound=DomainError)
History = Mapping[UUID, Sequence[EventData]]


class Specification(Generic[App]):
    def __init__(self, application: Callable[[InMemoryEventStore], App]) -> None:
        self.application = application

    def given(self, history: History | None = None) -> Given[App]:
        """Each record's past events, oldest first (nothing: no record exists yet)."""
        events, at = [], GIVEN_FROM
        for record_id, stream in (history or {}).items():
            for version, data in enumerate(stream, start=1):
                at += timedelta(minutes=1)
                events.append(DomainEvent(record_id, version, data, timestamp=at, metadata=BEFORE))
        store = InMemoryEventStore(events)
        return Given(store, self.application(store))


class Given(Generic[App]):
    def __init__(self, store: InMemoryEventStore, application: App) -> None:
        self.store = store
        self.application = application  # for the reads: ``given(...).application.read(...)``

    def when(self, command: Any, *, by: Principal, if_match: int | None = None) -> When:
        return When(self, command, CommandContext.of(by, if_match))


class When:
    def __init__(self, given: Given[Any], command: Any, context: CommandContext) -> None:
        self.given, self.command, self.context = given, command, context

    async def then(self, *expected: EventData) -> Outcome:
        """The command is done, recording exactly these events (none: it changed nothing)."""
        outcome: Outcome = await self.given.application.handle(self.command, self.context)
        _same_events(self.command, self.recorded, list(expected))
        return outcome

    async def then_refused(self, error: type[E], *, field: str | None = None) -> E:
        """The command is refused with this error (naming ``field``) and records nothing."""
        try:
            await self.given.application.handle(self.command, self.context)
        except DomainError as refusal:
            if not isinstance(refusal, error):
                raise AssertionError(
                    f"{self.command!r} was refused with {refusal!r}, not {error.__name__}"
                ) from refusal
            if field is not None and (not isinstance(refusal, Invalid) or refusal.field != field):
                raise AssertionError(
                    f"{refusal!r} names {getattr(refusal, 'field', None)!r}, not {field!r}"
                ) from refusal
            _same_events(self.command, self.recorded, [])
            return refusal
        raise AssertionError(f"{self.command!r} was not refused; it recorded {self.recorded}")

    @property
    def recorded(self) -> list[EventData]:
        return [event.data for event in self.given.store.recorded]


def _same_events(command: Any, recorded: list[EventData], expected: list[EventData]) -> None:
    # Compared as they are stored: type and serialised fields (a change names only the
    # fields it touched, so the fields given count, not only their values).
    def stored(events: list[EventData]) -> list[tuple[str, Any]]:
        return [(type(e).__name__, e.model_dump(mode="json")) for e in events]

    if stored(recorded) != stored(expected):
        raise AssertionError(
            f"{command!r} recorded\n  {stored(recorded)}\nexpected\n  {stored(expected)}"
        )
