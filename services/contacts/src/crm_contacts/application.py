"""The contacts service's use cases. Each is a short command run through group commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.record import CrmRecord
from crm_contacts.views import account_view, contact_view
from crm_shared.catalog.contacts import AccountCreated, ContactRegistered
from crm_shared.events import EventMetadata
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.eventstore.group_commit import GroupCommitter, Outcome, UnitOfWork
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction

R = TypeVar("R", bound=CrmRecord)
SCHEMA = "contacts"


class ContactsEventStore(EventSourcedApplication):
    name = "contacts"


def _contact_outcome(contact: Contact) -> Outcome:
    return Outcome(contact.id, contact.version, contact_view(contact).model_dump_json().encode())


def _account_outcome(account: Account) -> Outcome:
    return Outcome(account.id, account.version, account_view(account).model_dump_json().encode())


def _outcome(record: CrmRecord) -> Outcome:
    if isinstance(record, Contact):
        return _contact_outcome(record)
    assert isinstance(record, Account)
    return _account_outcome(record)


class ContactsApplication:
    def __init__(self, store: ContactsEventStore, committer: GroupCommitter) -> None:
        self.store = store
        self.committer = committer

    # --- reads -----------------------------------------------------------------------

    def get_contact(self, contact_id: UUID) -> Contact:
        return self.store.load(Contact, contact_id)

    def get_account(self, account_id: UUID) -> Account:
        return self.store.load(Account, account_id)

    # --- creating ----------------------------------------------------------------------

    async def register_contact(
        self, details: ContactRegistered, meta: EventMetadata, key: str | None, fp: str
    ) -> Outcome:
        contact_id = uuid4()

        def register(unit: UnitOfWork) -> Outcome:
            contact = Contact.register(contact_id, details)
            unit.add(contact)
            return _contact_outcome(contact)

        return await self.committer.submit(
            register,
            touches=contact_id,
            creates=True,
            metadata=meta,
            idempotency_key=key,
            fingerprint=fp,
        )

    async def create_account(
        self, details: AccountCreated, meta: EventMetadata, key: str | None, fp: str
    ) -> Outcome:
        account_id = uuid4()

        def create(unit: UnitOfWork) -> Outcome:
            account = Account.create(account_id, details)
            unit.add(account)
            return _account_outcome(account)

        return await self.committer.submit(
            create,
            touches=account_id,
            creates=True,
            metadata=meta,
            idempotency_key=key,
            fingerprint=fp,
        )

    # --- changing ----------------------------------------------------------------------

    async def _change(
        self,
        cls: type[R],
        record_id: UUID,
        change: Callable[[R], None],
        meta: EventMetadata,
        *,
        expected_version: int | None = None,
        key: str | None = None,
        fp: str = "",
    ) -> Outcome:
        def run(unit: UnitOfWork) -> Outcome:
            record = unit.get(cls, record_id, expected_version)
            change(record)
            return _outcome(record)

        return await self.committer.submit(
            run, touches=record_id, metadata=meta, idempotency_key=key, fingerprint=fp
        )

    async def update(
        self,
        cls: type[R],
        record_id: UUID,
        changes: dict[str, Any],
        meta: EventMetadata,
        expected_version: int | None,
    ) -> Outcome:
        return await self._change(
            cls, record_id, lambda r: r.update(changes), meta, expected_version=expected_version
        )

    async def archive(
        self,
        cls: type[R],
        record_id: UUID,
        reason: str | None,
        meta: EventMetadata,
        expected_version: int | None,
        key: str | None,
        fp: str,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.archive(reason),
            meta,
            expected_version=expected_version,
            key=key,
            fp=fp,
        )

    async def restore(
        self,
        cls: type[R],
        record_id: UUID,
        meta: EventMetadata,
        expected_version: int | None,
        key: str | None,
        fp: str,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.restore(),
            meta,
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
        meta: EventMetadata,
        expected_version: int | None,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.reassign(owner, department),
            meta,
            expected_version=expected_version,
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
        meta: EventMetadata,
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
            meta,
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
        meta: EventMetadata,
        expected_version: int | None,
    ) -> Outcome:
        return await self._change(
            cls,
            record_id,
            lambda r: r.set_consent(channel, status, source, at),
            meta,
            expected_version=expected_version,
        )
