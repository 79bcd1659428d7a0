"""The use cases of CRM records: every command on a record run the same way, through
group commit, after the policy and the references have had their say, and answered with
the record as the view registered for its kind shows it (``RecordKind``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from crm_shared.auth.policy import (
    Action,
    ReferenceResolver,
    Scope,
    authorize,
    may_create,
    may_leave_unowned,
    vet_references,
)
from crm_shared.auth.principal import Principal
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden, NotFound
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.group_commit import CommandFn, Outcome, UnitOfWork, check_version
from crm_shared.history import history
from crm_shared.records.commands import CreateRecord, RecordCommand
from crm_shared.records.record import CrmRecord, DepartmentRequired, UnownedRecordRefused
from crm_shared.records.references import RecordsInStore
from crm_shared.records.views import RecordKind

log = logging.getLogger(__name__)

R = TypeVar("R", bound=CrmRecord)


class RecordedEvents(Protocol):
    """Where the application reads a record's events (the event store, or a
    specification's events in memory)."""

    def events_of(self, aggregate_id: UUID) -> list[DomainEvent]: ...


class Committer(Protocol):
    """Runs a command against the record it touches and stores its events with its
    idempotency key, in one transaction (group commit, or a specification's memory)."""

    async def submit(
        self,
        run: CommandFn,
        *,
        touches: UUID,
        creates: bool = False,
        metadata: EventMetadata,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        also_touches: Sequence[UUID] = (),
        reads: tuple[UUID, ...] = (),
    ) -> Outcome: ...


class RecordsApplication:
    def __init__(
        self,
        events: RecordedEvents,
        committer: Committer,
        kinds: Sequence[RecordKind[Any]],
        resolver: ReferenceResolver | None = None,
    ) -> None:
        self.events = events
        self.committer = committer
        self.kinds: dict[type[CrmRecord], RecordKind[Any]] = {k.aggregate: k for k in kinds}
        self.resolver = resolver or RecordsInStore(events.events_of, self.kinds)

    def kind(self, cls: type[CrmRecord]) -> RecordKind[Any]:
        return self.kinds[cls]

    # --- reads -----------------------------------------------------------------------

    def load(self, cls: type[R], record_id: UUID) -> R:
        record = cls.project(None, self.events.events_of(record_id))
        if record is None:
            raise NotFound(f"{cls.noun()} {record_id} not found")
        return record

    def get(self, cls: type[R], record_id: UUID, principal: Principal) -> R:
        record = self.load(cls, record_id)
        authorize(principal, Action.READ, record.scope, cls.noun())
        return record

    def read(self, cls: type[CrmRecord], record_id: UUID, principal: Principal) -> Outcome:
        """The record as the API shows it (its view, id and version)."""
        return self.kind(cls).outcome(self.get(cls, record_id, principal))

    def history(
        self, cls: type[CrmRecord], record_id: UUID, principal: Principal
    ) -> list[dict[str, Any]]:
        """Every change to the record, oldest first (the event store is the audit log)."""
        events = self.events.events_of(record_id)
        record = cls.project(None, events)
        if record is None:
            raise NotFound(f"{cls.noun()} {record_id} not found")
        authorize(principal, Action.READ, record.scope, cls.noun())
        view = self.kind(cls).view_json
        return history(cls, events, view, appended=frozenset({"interactions"}))

    def export_of(
        self, cls: type[CrmRecord], record_id: UUID, principal: Principal
    ) -> dict[str, Any]:
        """Right of access and portability: the record as the API shows it and every change
        to it, in one document (``crm.<noun>.export.v1``)."""
        record = self.get(cls, record_id, principal)
        return {
            "format": f"crm.{cls.noun()}.export.v1",
            "exported_at": datetime.now(UTC).isoformat(),
            cls.noun(): self.kind(cls).view_json(record),
            "history": self.history(cls, record_id, principal),
        }

    # --- commands ----------------------------------------------------------------------

    async def handle(
        self, command: CreateRecord[Any] | RecordCommand[Any], context: CommandContext
    ) -> Outcome:
        log.debug("%r by %s", command, context.metadata.actor)
        match command:
            case CreateRecord():
                return await self.create(command, context)
            case RecordCommand():
                return await self.change(command, context)

    async def create(self, command: CreateRecord[Any], context: CommandContext) -> Outcome:
        principal, owner = context.principal, command.owner
        if owner is None and not may_leave_unowned(principal):
            raise UnownedRecordRefused(
                f"role {principal.role} may not create an unowned record: "
                "leave owner out to own it yourself, or name the owner",
                field="owner",
            )
        department = command.department or principal.primary_department
        if department is None:
            raise DepartmentRequired("a department is required", field="department")
        record_type, kind = command.record_type, self.kind(command.record_type)
        if not may_create(principal, Scope(owner, department)):
            raise Forbidden(
                f"role {principal.role} may not create records owned by "
                f"{owner or 'nobody'} in department {department}"
            )
        refusals = await vet_references(principal, command.references().values(), self.resolver)
        if refusals:
            raise next(iter(refusals.values()))
        # Unchecked: the request model checked the values (and a record of what the API
        # once accepted must be recordable as it was).
        (created,) = record_type.creation_events
        details = created.model_construct(**command.values, owner=owner, department=department)

        def run(unit: UnitOfWork) -> Outcome:
            record = command.reading(unit).create_record(details)
            unit.add(record)
            return kind.outcome(record)

        return await self.committer.submit(
            run,
            touches=command.record_id,
            creates=True,
            metadata=context.metadata,
            idempotency_key=context.idempotency_key,
            fingerprint=context.fingerprint,
            reads=command.reads(),
        )

    async def change(self, command: RecordCommand[Any], context: CommandContext) -> Outcome:
        principal, record_type = context.principal, command.record_type
        kind = self.kind(record_type)
        made = command.references()
        refusals = await vet_references(principal, made.values(), self.resolver)

        def run(unit: UnitOfWork) -> Outcome:
            record = unit.get(record_type, command.record_id)
            # Out of sight before anything else: not even the version may leak.
            authorize(principal, command.action, record.scope, record_type.noun())
            check_version(record, context.expected_version)
            command.check(principal, record)
            for reference in made.values():
                # Judged only if really made or changed (see vet_references).
                if reference in refusals and not record.holds(reference):
                    raise refusals[reference]
            command.reading(unit).apply(record)
            return kind.outcome(record)

        return await self.committer.submit(
            run,
            touches=command.record_id,
            metadata=context.metadata,
            idempotency_key=context.idempotency_key,
            fingerprint=context.fingerprint,
            reads=command.reads(),
        )
