"""The specification helper and its in-memory event store: a specification fails when the
command does something else than it says, and the store answers retries as group commit
does."""

from __future__ import annotations

from uuid import uuid4

import pytest

from crm_contacts.commands import ChangeContact, RegisterContact
from crm_shared.catalog.contacts import ContactRegistered, ContactUpdated
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden, Invalid, NotFound
from crm_shared.eventstore.group_commit import IdempotencyKeyReused
from crm_shared.records.record import DepartmentRequired, RecordArchived
from tests.contacts.specs.support import MANAGER, NO_DEPARTMENT, OWNER, registered, spec

ADA = uuid4()
CHANGE = ChangeContact(record_id=ADA, changes={"job_title": "CTO"})


async def test_a_specification_fails_when_the_command_records_other_events() -> None:
    with pytest.raises(AssertionError, match="recorded"):
        await (
            spec.given({ADA: [registered()]})
            .when(CHANGE, by=OWNER)
            .then(ContactUpdated(job_title="CEO"))
        )


async def test_a_specification_fails_when_the_command_records_nothing_said() -> None:
    with pytest.raises(AssertionError, match="recorded"):
        await spec.given({ADA: [registered()]}).when(CHANGE, by=OWNER).then()


async def test_a_specification_of_a_refusal_fails_when_the_command_is_done() -> None:
    with pytest.raises(AssertionError, match="was not refused"):
        await spec.given({ADA: [registered()]}).when(CHANGE, by=OWNER).then_refused(Forbidden)


async def test_a_specification_of_a_refusal_fails_on_another_refusal() -> None:
    with pytest.raises(AssertionError, match="not RecordArchived"):
        await spec.given().when(CHANGE, by=OWNER).then_refused(RecordArchived)


async def test_a_specification_of_a_refusal_fails_when_it_names_another_field() -> None:
    command = RegisterContact(values={}, owner="root")
    with pytest.raises(AssertionError, match="names 'department', not 'owner'"):
        await spec.given().when(command, by=NO_DEPARTMENT).then_refused(Invalid, field="owner")
    await (
        spec.given()
        .when(command, by=NO_DEPARTMENT)
        .then_refused(DepartmentRequired, field="department")
    )


async def test_a_refused_command_is_not_found_where_its_record_does_not_exist() -> None:
    await spec.given().when(CHANGE, by=MANAGER).then_refused(NotFound)


async def test_a_retry_with_the_same_key_answers_the_first_outcome_and_records_once() -> None:
    given = spec.given()
    context = CommandContext.of(OWNER)
    keyed = CommandContext(context.caller, idempotency_key="k", fingerprint="body")
    command = RegisterContact(values={"first_name": "Ada"}, owner="rita")
    first = await given.application.handle(command, keyed)
    again = await given.application.handle(RegisterContact(values={}, owner="rita"), keyed)
    assert (again.aggregate_id, again.body, again.replayed) == (
        first.aggregate_id,
        first.body,
        True,
    )
    assert [type(e.data) for e in given.store.recorded] == [ContactRegistered]


async def test_the_same_key_with_another_request_is_refused() -> None:
    given = spec.given()
    context = CommandContext.of(OWNER)
    first = CommandContext(context.caller, idempotency_key="k", fingerprint="one")
    other = CommandContext(context.caller, idempotency_key="k", fingerprint="two")
    await given.application.handle(RegisterContact(values={}, owner="rita"), first)
    with pytest.raises(IdempotencyKeyReused):
        await given.application.handle(RegisterContact(values={}, owner="rita"), other)
