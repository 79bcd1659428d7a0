"""The contacts service's use cases. Each is a short command run through group commit,
and each asks the shared policy whether the caller may do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.record import CrmRecord
from crm_contacts.references import RecordsInStore, references
from crm_contacts.views import account_view, contact_view
from crm_shared.auth.caller import Caller
from crm_shared.auth.policy import (
    Action,
    Forbidden,
    ReferenceResolver,
    Scope,
    authorize,
    may_create,
    may_move,
    vet_references,
)
from crm_shared.auth.principal import Principal
from crm_shared.catalog.contacts import AccountCreated, ContactRegistered
from crm_shared.domain import NotFound
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.eventstore.group_commit import (
    GroupCommitter,
    Outcome,
    UnitOfWork,
    check_version,
)
from crm_shared.history import history
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction

R = TypeVar("R", bound=CrmRecord)
SCHEMA = "contacts"


class ContactsEventStore(EventSourcedApplication):
    name = "contacts"


def _outcome(record: CrmRecord) -> Outcome:
    view = contact_view(record) if isinstance(record, Contact) else account_view(record)  # type: ignore[arg-type]
    return Outcome(record.id, record.version, view.model_dump_json().encode())


def _view_json(record: CrmRecord) -> dict[str, Any]:
    view = contact_view(record) if isinstance(record, Contact) else account_view(record)  # type: ignore[arg-type]
    return view.model_dump(mode="json")


def _scope(record: CrmRecord) -> Scope:
    return Scope(owner=record.owner, department=record.department)


def _noun(cls: type[CrmRecord]) -> str:
    return cls.__name__.lower()


class ContactsApplication:
    def __init__(
        self,
        store: ContactsEventStore,
        committer: GroupCommitter,
        resolver: ReferenceResolver | None = None,
    ) -> None:
        self.store = store
        self.committer = committer
        self.resolver = resolver or RecordsInStore(store)

    # --- reads -----------------------------------------------------------------------

    def get(self, cls: type[R], record_id: UUID, caller: Principal) -> R:
        record = self.store.load(cls, record_id)
        authorize(caller, Action.READ, _scope(record), _noun(cls))
        return record

    def read(self, cls: type[R], record_id: UUID, caller: Principal) -> Outcome:
        """The record as the API shows it (its view, id and version)."""
        return _outcome(self.get(cls, record_id, caller))

    def history(self, cls: type[R], record_id: UUID, caller: Principal) -> list[dict[str, Any]]:
        """Every change to the record, oldest first (the event store is the audit log)."""
        events = self.store.events_of(record_id)
        record = cls.project(None, events)
        if record is None:
            raise NotFound(f"{_noun(cls)} {record_id} not found")
        authorize(caller, Action.READ, _scope(record), _noun(cls))
        return history(cls, events, _view_json, appended=frozenset({"interactions"}))

    def export(self, contact_id: UUID, caller: Principal) -> dict[str, Any]:
        """Right of access and portability: the profile, consents, interactions and every
        change, in one document."""
        contact = self.get(Contact, contact_id, caller)
        return {
            "format": "crm.contact.export.v1",
            "exported_at": datetime.now(UTC).isoformat(),
            "contact": _view_json(contact),
            "history": self.history(Contact, contact_id, caller),
        }

    # --- creating ----------------------------------------------------------------------

    async def register_contact(
        self, details: ContactRegistered, caller: Caller, key: str | None, fp: str
    ) -> Outcome:
        return await self._create(Contact.register, details, caller, key, fp)

    async def create_account(
        self, details: AccountCreated, caller: Caller, key: str | None, fp: str
    ) -> Outcome:
        return await self._create(Account.create, details, caller, key, fp)

    async def _create(
        self,
        make: Callable[[UUID, Any], CrmRecord],
        details: ContactRegistered | AccountCreated,
        caller: Caller,
        key: str | None,
        fp: str,
    ) -> Outcome:
        scope = Scope(owner=details.owner, department=details.department)
        if not may_create(caller.principal, scope):
            raise Forbidden(
                f"role {caller.principal.role} may not create records owned by "
                f"{details.owner or 'nobody'} in department {details.department}"
            )
        made = references(dict(details))
        refusals = await vet_references(caller.principal, made.values(), self.resolver)
        if refusals:
            raise next(iter(refusals.values()))
        record_id = uuid4()

        def create(unit: UnitOfWork) -> Outcome:
            record = make(record_id, details)
            unit.add(record)
            return _outcome(record)

        return await self.committer.submit(
            create,
            touches=record_id,
            creates=True,
            metadata=caller.metadata,
            idempotency_key=key,
            fingerprint=fp,
        )

    # --- changing ----------------------------------------------------------------------

    async def _change(
        self,
        cls: type[R],
        record_id: UUID,
        change: Callable[[R], None],
        caller: Caller,
        *,
        action: Action = Action.CHANGE,
        expected_version: int | None = None,
        key: str | None = None,
        fp: str = "",
    ) -> Outcome:
        def run(unit: UnitOfWork) -> Outcome:
            record = unit.get(cls, record_id)
            # Out of sight before anything else: not even the version may leak.
            authorize(caller.principal, action, _scope(record), _noun(cls))
            check_version(record, expected_version)
            change(record)
            return _outcome(record)

        return await self.committer.submit(
            run, touches=record_id, metadata=caller.metadata, idempotency_key=key, fingerprint=fp
        )

    async def update(
        self,
        cls: type[R],
        record_id: UUID,
        changes: dict[str, Any],
        caller: Caller,
        expected_version: int | None,
    ) -> Outcome:
        made = references(changes)
        refusals = await vet_references(caller.principal, made.values(), self.resolver)

        def change(record: R) -> None:
            for name, reference in made.items():
                # Judged only if really made or changed (see vet_references).
                if reference in refusals and getattr(record, name) != reference.target:
                    raise refusals[reference]
            record.update(changes)

        return await self._change(cls, record_id, change, caller, expected_version=expected_version)

    async def archive(
        self,
        cls: type[R],
        record_id: UUID,
        reason: str | None,
        caller: Caller,
        expected_version: int | None,
        key: str | None,
        fp: str,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.archive(reason),
            caller,
            expected_version=expected_version,
            key=key,
            fp=fp,
        )

    async def restore(
        self,
        cls: type[R],
        record_id: UUID,
        caller: Caller,
        expected_version: int | None,
        key: str | None,
        fp: str,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.restore(),
            caller,
            expected_version=expected_version,
            key=key,
            fp=fp,
        )

    async def reassign(
        self,
        cls: type[R],
        record_id: UUID,
        owner: str | None,
        department: str,
        caller: Caller,
        expected_version: int | None,
    ) -> Outcome:
        target = Scope(owner=owner, department=department)

        def move(record: R) -> None:
            if not may_move(caller.principal, _scope(record), target):
                raise Forbidden(f"role {caller.principal.role} may not move it to {department}")
            record.reassign(owner, department)

        return await self._change(
            cls,
            record_id,
            move,
            caller,
            action=Action.REASSIGN,
            expected_version=expected_version,
        )

    async def erase(self, contact_id: UUID, caller: Caller, key: str | None, fp: str) -> Outcome:
        """Right to erasure: admins, and managers of the contact's department."""
        return await self._change(
            Contact, contact_id, lambda c: c.erase(), caller, action=Action.ERASE, key=key, fp=fp
        )

    async def log_interaction(
        self,
        cls: type[R],
        record_id: UUID,
        *,
        channel: Channel,
        direction: Direction,
        subject: str | None,
        notes: str | None,
        occurred_at: datetime,
        by: str | None,
        caller: Caller,
        key: str | None,
        fp: str,
    ) -> Outcome:
        interaction_id = uuid4()
        return await self._change(
            cls,
            record_id,
            lambda r: r.log_interaction(
                interaction_id=interaction_id,
                channel=channel,
                direction=direction,
                subject=subject,
                notes=notes,
                occurred_at=occurred_at,
                by=by,
            ),
            caller,
            key=key,
            fp=fp,
        )

    async def set_consent(
        self,
        cls: type[R],
        record_id: UUID,
        channel: ConsentChannel,
        status: ConsentStatus,
        source: str | None,
        at: datetime,
        caller: Caller,
        expected_version: int | None,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.set_consent(channel, status, source, at),
            caller,
            expected_version=expected_version,
        )
