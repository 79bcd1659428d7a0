"""Registering a contact and creating an account: who may create what, owned by whom, in
which department."""

from __future__ import annotations

import orjson
import pytest

from crm_contacts.commands import CreateAccount, RegisterContact
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.contacts import AccountCreated, ContactRegistered
from crm_shared.domain import Forbidden
from crm_shared.records.record import DepartmentRequired, UnownedRecordRefused
from tests.contacts.specs.support import ADMIN, MANAGER, NO_DEPARTMENT, OWNER, spec

ADA = {"first_name": "Ada", "last_name": "Lovelace"}
REPS = [
    Principal("rita", role, ("sales",)) for role in Role if role not in (Role.ADMIN, Role.MANAGER)
]


async def test_registering_a_contact_records_its_details_owner_and_department() -> None:
    await (
        spec.given()
        .when(RegisterContact(values=ADA, owner="rita", department="sales"), by=OWNER)
        .then(ContactRegistered(**ADA, owner="rita", department="sales"))
    )


async def test_a_new_record_is_in_the_callers_department_unless_they_name_another() -> None:
    await (
        spec.given()
        .when(RegisterContact(values=ADA, owner="rita"), by=OWNER)
        .then(ContactRegistered(**ADA, owner="rita", department="sales"))
    )


async def test_a_caller_without_a_department_must_name_one() -> None:
    await (
        spec.given()
        .when(RegisterContact(values=ADA, owner="root"), by=NO_DEPARTMENT)
        .then_refused(DepartmentRequired, field="department")
    )


@pytest.mark.parametrize("rep", REPS, ids=[rep.role.value for rep in REPS])
async def test_only_managers_and_admins_create_unowned_records(rep: Principal) -> None:
    await (
        spec.given()
        .when(CreateAccount(values={"name": "Acme"}, owner=None), by=rep)
        .then_refused(UnownedRecordRefused, field="owner")
    )


@pytest.mark.parametrize("caller", [MANAGER, ADMIN], ids=["manager", "admin"])
async def test_a_manager_or_an_admin_may_create_an_unowned_record(caller: Principal) -> None:
    await (
        spec.given()
        .when(CreateAccount(values={"name": "Acme"}, owner=None, department="sales"), by=caller)
        .then(AccountCreated(name="Acme", owner=None, department="sales"))
    )


async def test_a_rep_creates_records_only_for_themselves() -> None:
    await (
        spec.given()
        .when(RegisterContact(values=ADA, owner="rob"), by=OWNER)
        .then_refused(Forbidden)
    )


async def test_a_manager_creates_records_for_anyone_of_their_department() -> None:
    await (
        spec.given()
        .when(RegisterContact(values=ADA, owner="rob"), by=MANAGER)
        .then(ContactRegistered(**ADA, owner="rob", department="sales"))
    )


async def test_only_admins_create_records_in_a_department_not_their_own() -> None:
    command = RegisterContact(values=ADA, owner="mia", department="support")
    await spec.given().when(command, by=MANAGER).then_refused(Forbidden)
    await (
        spec.given()
        .when(RegisterContact(values=ADA, owner="boss", department="support"), by=ADMIN)
        .then(ContactRegistered(**ADA, owner="boss", department="support"))
    )


async def test_the_answer_is_the_new_record_as_the_api_shows_it_at_version_1() -> None:
    command = RegisterContact(values=ADA, owner="rita")
    outcome = (
        await spec.given()
        .when(command, by=OWNER)
        .then(ContactRegistered(**ADA, owner="rita", department="sales"))
    )
    view = orjson.loads(outcome.body)
    assert (outcome.aggregate_id, outcome.version) == (command.record_id, 1)
    assert (view["id"], view["version"]) == (str(command.record_id), 1)
    assert (view["first_name"], view["owner"], view["archived"], view["erased"]) == (
        "Ada",
        "rita",
        False,
        False,
    )


def test_a_command_names_its_fields_but_never_their_values_when_logged() -> None:
    command = RegisterContact(values={"first_name": "Ada", "emails": []}, owner="rita")
    assert repr(command) == f"RegisterContact({command.record_id}: emails, first_name)"
    assert "Ada" not in str(command)
