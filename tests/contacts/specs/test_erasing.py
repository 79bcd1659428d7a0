"""Erasing a person (right to erasure): who may, and what an erased contact still takes."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson
import pytest

from crm_contacts.commands import ChangeContact, EraseContact
from crm_contacts.domain.contact import Contact, ContactErasedError
from crm_shared.catalog.contacts import ContactErased
from crm_shared.domain import Forbidden, NotFound
from crm_shared.records.commands import (
    ArchiveRecord,
    LogInteraction,
    ReassignRecord,
    RecordCommand,
    RestoreRecord,
    SetConsent,
)
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction
from tests.contacts.specs.support import (
    ADMIN,
    MANAGER,
    NOW,
    OWNER,
    SUPPORT_MANAGER,
    registered,
    spec,
)

ADA = uuid4()
ON_ADA = {"record_type": Contact, "record_id": ADA}
AFTER_ERASURE: list[RecordCommand[Any]] = [
    ChangeContact(record_id=ADA, changes={"first_name": "Back"}),
    ArchiveRecord(**ON_ADA),
    RestoreRecord(**ON_ADA),
    ReassignRecord(**ON_ADA, owner="rob", department="sales"),
    LogInteraction(
        **ON_ADA, channel=Channel.SMS, direction=Direction.OUTBOUND, occurred_at=NOW, by="mia"
    ),
    SetConsent(**ON_ADA, channel=ConsentChannel.EMAIL, status=ConsentStatus.GRANTED, at=NOW),
    EraseContact(record_id=ADA),
]


async def test_a_manager_of_the_contacts_department_erases_the_person() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(EraseContact(record_id=ADA), by=MANAGER)
        .then(ContactErased())
    )


async def test_an_admin_erases_anyone() -> None:
    await (
        spec.given({ADA: [registered(department="support")]})
        .when(EraseContact(record_id=ADA), by=ADMIN)
        .then(ContactErased())
    )


async def test_a_rep_may_not_erase_even_their_own_contact() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(EraseContact(record_id=ADA), by=OWNER)
        .then_refused(Forbidden)
    )


async def test_a_manager_of_another_department_does_not_find_the_contact() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(EraseContact(record_id=ADA), by=SUPPORT_MANAGER)
        .then_refused(NotFound)
    )


async def test_the_answer_shows_the_contact_erased_without_their_personal_data() -> None:
    outcome = await (
        spec.given({ADA: [registered(emails=[{"address": "ada@example.com"}])]})
        .when(EraseContact(record_id=ADA), by=MANAGER)
        .then(ContactErased())
    )
    view = orjson.loads(outcome.body)
    assert (view["erased"], view["first_name"], view["emails"]) == (True, None, [])
    assert view["erased_at"] is not None


@pytest.mark.parametrize("command", AFTER_ERASURE, ids=lambda c: type(c).__name__)
async def test_an_erased_contact_takes_no_command_at_all(command: RecordCommand[Any]) -> None:
    await (
        spec.given({ADA: [registered(), ContactErased()]})
        .when(command, by=ADMIN)
        .then_refused(ContactErasedError)
    )
