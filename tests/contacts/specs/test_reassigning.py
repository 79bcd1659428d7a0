"""Moving a record to another owner or department: managers and admins, and only between
departments they manage."""

from __future__ import annotations

from uuid import uuid4

from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import ContactReassigned
from crm_shared.domain import Forbidden
from crm_shared.records.commands import ReassignRecord
from tests.contacts.specs.support import ADMIN, MANAGER, OWNER, SUPPORT_MANAGER, registered, spec

ADA = uuid4()


def to(owner: str | None, department: str) -> ReassignRecord[Contact]:
    return ReassignRecord(record_type=Contact, record_id=ADA, owner=owner, department=department)


async def test_a_rep_may_not_reassign_even_their_own_record() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(to("rob", "sales"), by=OWNER)
        .then_refused(Forbidden)
    )


async def test_a_manager_reassigns_within_their_department() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(to("rob", "sales"), by=MANAGER)
        .then(ContactReassigned(owner="rob", department="sales"))
    )


async def test_a_manager_may_not_move_a_record_to_a_department_they_do_not_manage() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(to(None, "support"), by=MANAGER)
        .then_refused(Forbidden)
    )


async def test_a_manager_of_another_department_does_not_find_the_record() -> None:
    from crm_shared.domain import NotFound

    await (
        spec.given({ADA: [registered()]})
        .when(to("sam", "support"), by=SUPPORT_MANAGER)
        .then_refused(NotFound)
    )


async def test_an_admin_moves_a_record_anywhere() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(to(None, "support"), by=ADMIN)
        .then(ContactReassigned(owner=None, department="support"))
    )


async def test_reassigning_to_the_same_owner_and_department_records_nothing() -> None:
    await spec.given({ADA: [registered(owner="rita")]}).when(to("rita", "sales"), by=MANAGER).then()
