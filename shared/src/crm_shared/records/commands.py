"""The commands every CRM record answers, as named objects: which record, and the values
the command needs; nothing about HTTP, and not who asks (that is the command's context).

A command on an existing record says which action of the policy it is (``action``), may
add a rule of its own about the caller (``check``), and does its work with one call of the
aggregate (``apply``). ``RecordsApplication`` runs every one the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID, uuid4

from crm_shared.auth.policy import Action, Reference, Scope, may_move
from crm_shared.auth.principal import Principal
from crm_shared.domain import Forbidden
from crm_shared.events import EventData
from crm_shared.records.record import CrmRecord
from crm_shared.records.references import references
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction

if TYPE_CHECKING:
    from crm_shared.eventstore.group_commit import UnitOfWork

R = TypeVar("R", bound=CrmRecord)


def _described(command: object, record_id: UUID, values: Mapping[str, Any]) -> str:
    # Names the fields, never their values: a command may carry a person's data, and its
    # description may end up in a log.
    return f"{type(command).__name__}({record_id}: {', '.join(sorted(values))})"


class BatchReads:
    """What a command reads of other aggregates besides its record: loaded with the record,
    in the command's batch, and handed to it before it runs (none by default)."""

    def reads(self) -> tuple[UUID, ...]:
        return ()

    def reading(self, unit: UnitOfWork) -> Self:
        """The command with what it reads taken from ``unit``."""
        return self


@dataclass(frozen=True, kw_only=True)
class CreateRecord(BatchReads, Generic[R]):
    """A new record with these values, owned by ``owner`` (None: nobody) in ``department``
    (None: the caller's)."""

    record_type: type[R]
    values: Mapping[str, Any]
    owner: str | None
    department: str | None = None
    record_id: UUID = field(default_factory=uuid4)

    def references(self) -> dict[str, Reference]:
        return references(self.record_type, self.values)

    def create_record(self, details: EventData) -> R:
        """The new record from its creation event's data (a command of a kind of record
        that needs more to create one, a lead its scoring rules, brings it here)."""
        return self.record_type.create(self.record_id, details)

    def __repr__(self) -> str:
        return _described(self, self.record_id, self.values)


@dataclass(frozen=True, kw_only=True)
class RecordCommand(BatchReads, Generic[R]):
    """A command on one existing record."""

    action: ClassVar[Action] = Action.CHANGE

    record_type: type[R]
    record_id: UUID

    def references(self) -> dict[str, Reference]:
        """The references the command would make (vetted before it runs)."""
        return {}

    def check(self, principal: Principal, record: R) -> None:
        """A rule about the caller beyond the policy's ``action`` (none by default)."""

    def apply(self, record: R) -> None:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class ChangeRecord(RecordCommand[R]):
    """Some of the record's fields: the ones given change, a null clears one."""

    changes: Mapping[str, Any]

    def references(self) -> dict[str, Reference]:
        return references(self.record_type, self.changes)

    def apply(self, record: R) -> None:
        record.update(self.changes)

    def __repr__(self) -> str:
        return _described(self, self.record_id, self.changes)


@dataclass(frozen=True, kw_only=True)
class ArchiveRecord(RecordCommand[R]):
    reason: str | None = None

    def apply(self, record: R) -> None:
        record.archive(self.reason)


@dataclass(frozen=True, kw_only=True)
class RestoreRecord(RecordCommand[R]):
    def apply(self, record: R) -> None:
        record.restore()


@dataclass(frozen=True, kw_only=True)
class ReassignRecord(RecordCommand[R]):
    """Moves the record to another owner (None: nobody) or department."""

    action: ClassVar[Action] = Action.REASSIGN

    owner: str | None
    department: str
    # What the kind of record's reassignment carries besides (a lead's team).
    details: Mapping[str, Any] = field(default_factory=dict)

    def check(self, principal: Principal, record: R) -> None:
        if not may_move(principal, record.scope, Scope(self.owner, self.department)):
            raise Forbidden(f"role {principal.role} may not move it to {self.department}")

    def apply(self, record: R) -> None:
        record.reassign(self.owner, self.department, **self.details)


@dataclass(frozen=True, kw_only=True)
class LogInteraction(RecordCommand[R]):
    channel: Channel
    direction: Direction
    occurred_at: datetime
    by: str | None
    subject: str | None = field(default=None, repr=False)
    notes: str | None = field(default=None, repr=False)
    interaction_id: UUID = field(default_factory=uuid4)

    def apply(self, record: R) -> None:
        record.log_interaction(
            interaction_id=self.interaction_id,
            channel=self.channel,
            direction=self.direction,
            subject=self.subject,
            notes=self.notes,
            occurred_at=self.occurred_at,
            by=self.by,
        )


@dataclass(frozen=True, kw_only=True)
class SetConsent(RecordCommand[R]):
    channel: ConsentChannel
    status: ConsentStatus
    at: datetime
    source: str | None = None

    def apply(self, record: R) -> None:
        record.set_consent(self.channel, self.status, self.source, self.at)
