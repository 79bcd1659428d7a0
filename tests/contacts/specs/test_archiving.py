"""Archiving and restoring a record."""

from __future__ import annotations

from uuid import uuid4

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountRestored,
    ContactArchived,
    ContactRestored,
)
from crm_shared.domain import Forbidden
from crm_shared.records.commands import ArchiveRecord, RestoreRecord
from tests.contacts.specs.support import OTHER_REP, OWNER, account_created, registered, spec

ADA = uuid4()
ACME = uuid4()


async def test_archiving_records_the_reason() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(ArchiveRecord(record_type=Contact, record_id=ADA, reason="duplicate"), by=OWNER)
        .then(ContactArchived(reason="duplicate"))
    )


async def test_archiving_an_archived_record_records_nothing() -> None:
    await (
        spec.given({ADA: [registered(), ContactArchived()]})
        .when(ArchiveRecord(record_type=Contact, record_id=ADA), by=OWNER)
        .then()
    )


async def test_restoring_an_archived_record_records_it() -> None:
    await (
        spec.given({ADA: [registered(), ContactArchived()]})
        .when(RestoreRecord(record_type=Contact, record_id=ADA), by=OWNER)
        .then(ContactRestored())
    )


async def test_restoring_a_record_that_is_not_archived_records_nothing() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(RestoreRecord(record_type=Contact, record_id=ADA), by=OWNER)
        .then()
    )


async def test_archiving_is_a_change_only_those_who_may_change_the_record_make() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(ArchiveRecord(record_type=Contact, record_id=ADA), by=OTHER_REP)
        .then_refused(Forbidden)
    )


async def test_accounts_are_archived_and_restored_with_their_own_events() -> None:
    given = spec.given({ACME: [account_created()]})
    await given.when(ArchiveRecord(record_type=Account, record_id=ACME), by=OWNER).then(
        AccountArchived()
    )
    await (
        spec.given({ACME: [account_created(), AccountArchived()]})
        .when(RestoreRecord(record_type=Account, record_id=ACME), by=OWNER)
        .then(AccountRestored())
    )
