"""A deal's account, primary contact and contact roles, and the record an activity is
about, must name a record that exists, that the caller may see, and that is not archived:
the contacts service's contacts and accounts as the sales service's read model of them
knows them (``crm_sales.contact_records``), its own leads and deals in its event store.
An unknown id and an id out of the caller's sight get the same answer (422
``unknown_reference`` naming the field), so that a reference cannot probe another
department; an archived record ``archived_reference``; an erased contact is unknown.

A lead's conversion names the account and contact the contacts service has just created,
which the read model may not know yet: it vouches for them.

The caller is rita, a sales rep of "sales"; "support" is out of her sight."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from crm_sales.activity_commands import ChangeActivity, ScheduleActivity
from crm_sales.application import SalesApplication
from crm_sales.deal_commands import ChangeOpportunity, OpenOpportunity
from crm_shared.auth.policy import ArchivedReference, UnknownReference
from crm_shared.catalog.sales.activities import ActivityKind, RelatedKind, RelatedTo
from crm_shared.catalog.sales.opportunities import ContactRole, OpportunityChanged
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import KnownContactRecords, account, contact
from tests.sales.specs.test_activities import CALL, DUE, scheduled
from tests.sales.specs.test_opportunities import (
    DEAL,
    OWNER,
    PIPELINE,
    a_deal,
    new_business,
    opened,
    opening,
)

ACME, INITECH, ARCHIVED_CO, SUPPORTS_CO = uuid4(), uuid4(), uuid4(), uuid4()
ADA, GRACE, ERASED, SUPPORTS_CONTACT = uuid4(), uuid4(), uuid4(), uuid4()
KNOWN = KnownContactRecords(
    account(ACME),
    account(INITECH),
    account(ARCHIVED_CO, archived=True),
    account(SUPPORTS_CO, "support"),
    contact(ADA),
    contact(GRACE),
    contact(ERASED, erased=True),
    contact(SUPPORTS_CONTACT, "support"),
)

spec = Specification(lambda store: SalesApplication(store, store, contacts=KNOWN))


def a_pipeline() -> dict[UUID, list[Any]]:
    return {PIPELINE: [new_business]}


# --- opening a deal -------------------------------------------------------------------


async def test_a_deal_naming_an_account_and_contacts_the_rep_sees_opens() -> None:
    roles = [ContactRole(contact_id=GRACE, role="champion")]
    values = {"account_id": ACME, "primary_contact_id": ADA, "contact_roles": roles}
    await spec.given(a_pipeline()).when(opening(**values), by=OWNER).then(opened(**values))


async def test_a_deal_naming_an_unknown_account_is_refused_naming_it() -> None:
    await (
        spec.given(a_pipeline())
        .when(opening(account_id=uuid4()), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )


async def test_another_departments_account_is_refused_as_if_unknown() -> None:
    await (
        spec.given(a_pipeline())
        .when(opening(account_id=SUPPORTS_CO), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )


async def test_another_departments_contact_as_primary_contact_is_refused_as_if_unknown() -> None:
    await (
        spec.given(a_pipeline())
        .when(opening(primary_contact_id=SUPPORTS_CONTACT), by=OWNER)
        .then_refused(UnknownReference, field="primary_contact_id")
    )


async def test_an_accounts_id_is_no_contact() -> None:
    await (
        spec.given(a_pipeline())
        .when(opening(primary_contact_id=ACME), by=OWNER)
        .then_refused(UnknownReference, field="primary_contact_id")
    )


async def test_an_unknown_contact_in_a_role_is_refused_naming_that_role() -> None:
    roles = [
        ContactRole(contact_id=GRACE, role="champion"),
        ContactRole(contact_id=uuid4(), role="economic buyer"),
    ]
    await (
        spec.given(a_pipeline())
        .when(opening(contact_roles=roles), by=OWNER)
        .then_refused(UnknownReference, field="contact_roles.1.contact_id")
    )


async def test_an_archived_account_is_refused_as_archived() -> None:
    await (
        spec.given(a_pipeline())
        .when(opening(account_id=ARCHIVED_CO), by=OWNER)
        .then_refused(ArchivedReference, field="account_id")
    )


async def test_an_erased_contact_is_refused_as_unknown() -> None:
    await (
        spec.given(a_pipeline())
        .when(opening(primary_contact_id=ERASED), by=OWNER)
        .then_refused(UnknownReference, field="primary_contact_id")
    )


async def test_a_conversion_vouches_for_the_records_it_has_just_created() -> None:
    # Created a moment ago in the contacts service: not yet in the read model.
    new_account, new_contact = uuid4(), uuid4()
    values = {"account_id": new_account, "primary_contact_id": new_contact}
    command = OpenOpportunity(
        record_id=DEAL,
        values=opening(**values).values,
        owner="rita",
        vouched_for=frozenset({new_account, new_contact}),
    )
    await spec.given(a_pipeline()).when(command, by=OWNER).then(opened(**values))


async def test_a_record_vouched_for_does_not_vouch_for_another() -> None:
    command = OpenOpportunity(
        record_id=DEAL,
        values=opening(account_id=uuid4(), primary_contact_id=uuid4()).values,
        owner="rita",
        vouched_for=frozenset({uuid4()}),
    )
    await spec.given(a_pipeline()).when(command, by=OWNER).then_refused(UnknownReference)


# --- changing a deal --------------------------------------------------------------------


def change(**changes: Any) -> ChangeOpportunity:
    return ChangeOpportunity(record_id=DEAL, changes=changes)


async def test_moving_a_deal_to_an_unknown_account_is_refused_naming_it() -> None:
    await (
        spec.given(a_deal())
        .when(change(account_id=uuid4()), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )


async def test_moving_a_deal_to_another_account_the_rep_sees_is_done() -> None:
    await (
        spec.given({**a_deal(), DEAL: [opened(account_id=ACME)]})
        .when(change(account_id=INITECH), by=OWNER)
        .then(OpportunityChanged(account_id=INITECH))
    )


async def test_an_account_the_deal_already_names_is_not_judged_again() -> None:
    # Archived since the deal named it: the deal keeps it while its other fields change.
    given = spec.given({**a_deal(), DEAL: [opened(account_id=ARCHIVED_CO)]})
    await given.when(change(account_id=ARCHIVED_CO, next_step="Call"), by=OWNER).then(
        OpportunityChanged(next_step="Call")
    )


async def test_a_contact_role_added_beside_the_deals_own_is_judged() -> None:
    roles = [ContactRole(contact_id=ADA, role="champion")]
    given = spec.given({**a_deal(), DEAL: [opened(contact_roles=roles)]})
    more = [*roles, ContactRole(contact_id=SUPPORTS_CONTACT, role="user")]
    await given.when(change(contact_roles=more), by=OWNER).then_refused(
        UnknownReference, field="contact_roles.1.contact_id"
    )


# --- what an activity is about ----------------------------------------------------------


def schedule(related_to: RelatedTo) -> ScheduleActivity:
    values = {"kind": ActivityKind.TASK, "subject": "Call", "due_at": DUE, "related_to": related_to}
    return ScheduleActivity(record_id=CALL, values=values, owner="rita")


async def test_an_activity_about_an_unknown_contact_is_refused_naming_it() -> None:
    about = RelatedTo(kind=RelatedKind.CONTACT, id=uuid4())
    await (
        spec.given()
        .when(schedule(about), by=OWNER)
        .then_refused(UnknownReference, field="related_to.id")
    )


async def test_an_activity_about_another_departments_account_is_refused_as_if_unknown() -> None:
    about = RelatedTo(kind=RelatedKind.ACCOUNT, id=SUPPORTS_CO)
    await (
        spec.given()
        .when(schedule(about), by=OWNER)
        .then_refused(UnknownReference, field="related_to.id")
    )


async def test_an_activity_about_an_archived_account_is_refused_as_archived() -> None:
    about = RelatedTo(kind=RelatedKind.ACCOUNT, id=ARCHIVED_CO)
    await (
        spec.given()
        .when(schedule(about), by=OWNER)
        .then_refused(ArchivedReference, field="related_to.id")
    )


async def test_an_activity_about_an_unknown_deal_is_refused_naming_it() -> None:
    about = RelatedTo(kind=RelatedKind.OPPORTUNITY, id=uuid4())
    await (
        spec.given()
        .when(schedule(about), by=OWNER)
        .then_refused(UnknownReference, field="related_to.id")
    )


async def test_an_activity_moved_to_an_erased_contact_is_refused_as_unknown() -> None:
    gone = RelatedTo(kind=RelatedKind.CONTACT, id=ERASED)
    await (
        spec.given({CALL: [scheduled()]})
        .when(ChangeActivity(record_id=CALL, changes={"related_to": gone}), by=OWNER)
        .then_refused(UnknownReference, field="related_to.id")
    )


async def test_an_application_built_without_the_contact_records_refuses_every_account() -> None:
    # Fails closed: a service wired without its read model links no account at all.
    unwired = Specification(lambda store: SalesApplication(store, store))
    await (
        unwired.given(a_pipeline())
        .when(opening(account_id=ACME), by=OWNER)
        .then_refused(UnknownReference, field="account_id")
    )
