"""References between records: a contact's account and an account's parent must exist and
be in the caller's sight when the link is made, and not be archived; a link already made
stays, and clearing one is always allowed."""

from __future__ import annotations

from uuid import uuid4

from crm_contacts.commands import ChangeAccount, ChangeContact, CreateAccount, RegisterContact
from crm_shared.auth.policy import ArchivedReference, UnknownReference
from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountCreated,
    AccountReassigned,
    AccountUpdated,
    ContactRegistered,
    ContactUpdated,
)
from crm_shared.domain import NotFound
from tests.contacts.specs.support import (
    ADMIN,
    OWNER,
    SUPPORT_AGENT,
    account_created,
    registered,
    spec,
)

ADA, ACME, GLOBEX = uuid4(), uuid4(), uuid4()


def linking(account_id: object) -> RegisterContact:
    return RegisterContact(values={"first_name": "Linda", "account_id": account_id}, owner="rita")


async def test_a_rep_links_a_new_contact_to_an_account_of_their_department() -> None:
    await (
        spec.given({ACME: [account_created()]})
        .when(linking(ACME), by=OWNER)
        .then(
            ContactRegistered(first_name="Linda", account_id=ACME, owner="rita", department="sales")
        )
    )


async def test_a_rep_moves_their_contact_to_another_account_in_sight() -> None:
    await (
        spec.given(
            {
                ACME: [account_created()],
                GLOBEX: [account_created(name="Globex")],
                ADA: [registered(account_id=ACME)],
            }
        )
        .when(ChangeContact(record_id=ADA, changes={"account_id": GLOBEX}), by=OWNER)
        .then(ContactUpdated(account_id=GLOBEX))
    )


async def test_an_account_that_does_not_exist_is_an_unknown_reference() -> None:
    await (
        spec.given()
        .when(linking(ACME), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )


async def test_an_account_out_of_the_callers_sight_is_answered_as_if_it_did_not_exist() -> None:
    await (
        spec.given({ACME: [account_created(department="support")]})
        .when(linking(ACME), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )


async def test_the_id_of_another_kind_of_record_is_an_unknown_reference() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(linking(ADA), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )


async def test_an_admin_links_a_contact_to_an_account_of_any_department() -> None:
    await (
        spec.given({ACME: [account_created(department="support")]})
        .when(linking(ACME), by=ADMIN)
        .then(ContactRegistered(first_name="Linda", account_id=ACME, owner="rita", department="hq"))
    )


async def test_linking_a_contact_to_an_account_out_of_sight_changes_nothing() -> None:
    await (
        spec.given({ACME: [account_created(department="support")], ADA: [registered()]})
        .when(
            ChangeContact(record_id=ADA, changes={"job_title": "Buyer", "account_id": ACME}),
            by=OWNER,
        )
        .then_refused(UnknownReference, field="account_id")
    )


async def test_a_contact_out_of_sight_is_not_found_whatever_account_it_is_given() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(ChangeContact(record_id=ADA, changes={"account_id": uuid4()}), by=SUPPORT_AGENT)
        .then_refused(NotFound)
    )


async def test_nothing_new_is_linked_to_an_archived_account() -> None:
    await (
        spec.given({ACME: [account_created(), AccountArchived()], ADA: [registered()]})
        .when(ChangeContact(record_id=ADA, changes={"account_id": ACME}), by=OWNER)
        .then_refused(ArchivedReference, field="account_id")
    )


async def test_a_new_contact_is_not_linked_to_an_archived_account() -> None:
    await (
        spec.given({ACME: [account_created(), AccountArchived()]})
        .when(linking(ACME), by=OWNER)
        .then_refused(ArchivedReference, field="account_id")
    )


async def test_a_link_made_before_the_account_was_archived_stays_as_it_is() -> None:
    await (
        spec.given(
            {ACME: [account_created(), AccountArchived()], ADA: [registered(account_id=ACME)]}
        )
        .when(
            ChangeContact(record_id=ADA, changes={"job_title": "Buyer", "account_id": ACME}),
            by=OWNER,
        )
        .then(ContactUpdated(job_title="Buyer"))
    )


async def test_a_link_whose_account_moved_out_of_sight_stays_as_it_is() -> None:
    moved = AccountReassigned(owner=None, department="support")
    await (
        spec.given({ACME: [account_created(), moved], ADA: [registered(account_id=ACME)]})
        .when(
            ChangeContact(record_id=ADA, changes={"job_title": "Buyer", "account_id": ACME}),
            by=OWNER,
        )
        .then(ContactUpdated(job_title="Buyer"))
    )


async def test_clearing_a_link_is_always_allowed() -> None:
    await (
        spec.given(
            {ACME: [account_created(), AccountArchived()], ADA: [registered(account_id=ACME)]}
        )
        .when(ChangeContact(record_id=ADA, changes={"account_id": None}), by=OWNER)
        .then(ContactUpdated(account_id=None))
    )


async def test_an_accounts_parent_must_be_an_account_in_sight() -> None:
    await (
        spec.given({ACME: [account_created(department="support")]})
        .when(
            CreateAccount(values={"name": "Child", "parent_account_id": ACME}, owner="rita"),
            by=OWNER,
        )
        .then_refused(UnknownReference, field="parent_account_id")
    )


async def test_an_account_becomes_the_child_of_an_account_in_sight() -> None:
    await (
        spec.given({ACME: [account_created()], GLOBEX: [account_created(name="Globex")]})
        .when(ChangeAccount(record_id=GLOBEX, changes={"parent_account_id": ACME}), by=OWNER)
        .then(AccountUpdated(parent_account_id=ACME))
    )


async def test_an_account_created_under_a_parent_in_sight_records_it() -> None:
    command = CreateAccount(values={"name": "Child", "parent_account_id": ACME}, owner="rita")
    await (
        spec.given({ACME: [account_created()]})
        .when(command, by=OWNER)
        .then(
            AccountCreated(name="Child", parent_account_id=ACME, owner="rita", department="sales")
        )
    )
