"""Changing a contact's or an account's fields: who may, on which version, in which state."""

from __future__ import annotations

from uuid import uuid4

from crm_contacts.commands import ChangeAccount, ChangeContact
from crm_shared.catalog.contacts import (
    AccountUpdated,
    ContactArchived,
    ContactUpdated,
)
from crm_shared.domain import Forbidden, NotFound
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.records.record import RecordArchived
from crm_shared.values import Email
from tests.contacts.specs.support import (
    ADMIN,
    MANAGER,
    OTHER_REP,
    OWNER,
    SUPPORT_AGENT,
    account_created,
    registered,
    spec,
)

ADA = uuid4()
ACME = uuid4()


async def test_a_change_records_only_the_fields_that_really_change() -> None:
    await (
        spec.given({ADA: [registered(job_title="Analyst")]})
        .when(
            ChangeContact(record_id=ADA, changes={"first_name": "Ada", "job_title": "CTO"}),
            by=OWNER,
        )
        .then(ContactUpdated(job_title="CTO"))
    )


async def test_a_change_that_changes_nothing_records_nothing() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(ChangeContact(record_id=ADA, changes={"first_name": "Ada"}), by=OWNER)
        .then()
    )


async def test_clearing_a_field_records_it_as_null() -> None:
    await (
        spec.given({ADA: [registered(job_title="Analyst")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": None}), by=OWNER)
        .then(ContactUpdated(job_title=None))
    )


async def test_clearing_a_list_of_a_contact_leaves_it_empty() -> None:
    emails = [Email(address="ada@example.com")]
    await (
        spec.given({ADA: [registered(emails=emails, tags=["vip"])]})
        .when(ChangeContact(record_id=ADA, changes={"emails": None, "tags": None}), by=OWNER)
        .then(ContactUpdated(emails=[], tags=[]))
    )


async def test_a_change_made_on_a_version_no_longer_current_is_refused() -> None:
    await (
        spec.given({ADA: [registered(), ContactUpdated(job_title="CTO")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CEO"}), by=OWNER, if_match=1)
        .then_refused(VersionMismatch)
    )


async def test_a_change_made_on_the_current_version_is_recorded() -> None:
    await (
        spec.given({ADA: [registered(), ContactUpdated(job_title="CTO")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CEO"}), by=OWNER, if_match=2)
        .then(ContactUpdated(job_title="CEO"))
    )


async def test_an_archived_record_takes_no_changes() -> None:
    await (
        spec.given({ADA: [registered(), ContactArchived(reason="duplicate")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=OWNER)
        .then_refused(RecordArchived)
    )


async def test_a_rep_changes_records_they_own() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=OWNER)
        .then(ContactUpdated(job_title="CTO"))
    )


async def test_a_rep_changes_the_unowned_records_of_their_department() -> None:
    await (
        spec.given({ADA: [registered(owner=None)]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=OTHER_REP)
        .then(ContactUpdated(job_title="CTO"))
    )


async def test_a_rep_sees_but_may_not_change_another_reps_record() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=OTHER_REP)
        .then_refused(Forbidden)
    )


async def test_a_manager_changes_any_record_of_their_department() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=MANAGER)
        .then(ContactUpdated(job_title="CTO"))
    )


async def test_a_record_of_another_department_is_not_found() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=SUPPORT_AGENT)
        .then_refused(NotFound)
    )


async def test_a_record_out_of_sight_is_not_found_whatever_version_is_given() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(
            ChangeContact(record_id=ADA, changes={"job_title": "CTO"}),
            by=SUPPORT_AGENT,
            if_match=7,
        )
        .then_refused(NotFound)
    )


async def test_an_admin_changes_any_record() -> None:
    await (
        spec.given({ADA: [registered(department="support")]})
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=ADMIN)
        .then(ContactUpdated(job_title="CTO"))
    )


async def test_a_record_that_does_not_exist_is_not_found() -> None:
    await (
        spec.given()
        .when(ChangeContact(record_id=ADA, changes={"job_title": "CTO"}), by=ADMIN)
        .then_refused(NotFound)
    )


async def test_a_contacts_id_is_not_found_as_an_account() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(ChangeAccount(record_id=ADA, changes={"name": "Acme"}), by=ADMIN)
        .then_refused(NotFound)
    )


async def test_renaming_an_account_records_its_new_name() -> None:
    await (
        spec.given({ACME: [account_created()]})
        .when(ChangeAccount(record_id=ACME, changes={"name": "Acme Corp"}), by=MANAGER)
        .then(AccountUpdated(name="Acme Corp"))
    )
