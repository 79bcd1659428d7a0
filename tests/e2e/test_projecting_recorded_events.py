"""Events recorded before the contacts service refused what PostgreSQL cannot hold still
reach the customer 360: its fold stores whatever a valid event carries.

These events are recorded through the contacts application itself, past the request
models, as the API recorded them before it refused NUL and out-of-range instants."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from crm_contacts.application import ContactsApplication
from crm_contacts.commands import RegisterContact
from crm_contacts.domain.contact import Contact
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.records.commands import LogInteraction, SetConsent
from crm_shared.values import (
    Channel,
    ConsentChannel,
    ConsentStatus,
    Direction,
    Email,
    PostalAddress,
    StringField,
)
from tests.e2e.conftest import Stack
from tests.e2e.projectable import dead_letters_about, projected

CALLER = CommandContext.of(Principal(id="tester", role=Role.ADMIN, departments=("sales",)))
PLUS_20 = timezone(timedelta(hours=20))
REPLACEMENT = "\ufffd"


def _contacts(stack: Stack) -> ContactsApplication:
    assert stack.contacts_app is not None
    return stack.contacts_app


async def _record_contact(stack: Stack, **fields: Any) -> UUID:
    """Records a registration as the API did before it validated text (unchecked)."""
    values = {"first_name": "Ada", **fields}
    owner = values.pop("owner", "tester")
    command = RegisterContact(values=values, owner=owner, department="sales")
    outcome = await _contacts(stack).handle(command, CALLER)
    return outcome.aggregate_id


async def _log_interaction(
    stack: Stack, contact_id: UUID, occurred_at: datetime, subject: str = "Call"
) -> int:
    command = LogInteraction(
        record_type=Contact,
        record_id=contact_id,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        subject=subject,
        notes=None,
        occurred_at=occurred_at,
        by="tester",
    )
    outcome = await _contacts(stack).handle(command, CALLER)
    return outcome.version


async def test_a_contact_recorded_with_nul_in_its_text_is_projected_with_replacement_characters(
    stack: Stack,
) -> None:
    contact_id = await _record_contact(
        stack,
        first_name="Ada\x00",
        last_name="Love\x00lace",
        emails=[Email.model_construct(address="ada.nul@example.com", label="w\x00rk")],
        addresses=[PostalAddress.model_construct(label="home", street="12\x00 Main St")],
        job_title="\x00",
        source="web\x00form",
        tags=["v\x00ip"],
        custom_fields={"nick\x00": StringField.model_construct(value="A\x00")},
        owner="test\x00er",
    )
    version = await _log_interaction(stack, contact_id, datetime.now(UTC), subject="Hi\x00")
    consent = await _contacts(stack).handle(
        SetConsent(
            record_type=Contact,
            record_id=contact_id,
            channel=ConsentChannel.EMAIL,
            status=ConsentStatus.GRANTED,
            source="call\x00",
            at=datetime.now(UTC),
        ),
        CALLER,
    )
    assert consent.version == version + 1

    view = await projected(stack, str(contact_id), consent.version)

    assert view["display_name"] == f"Ada{REPLACEMENT} Love{REPLACEMENT}lace"
    profile = view["profile"]
    assert profile["addresses"][0]["street"] == f"12{REPLACEMENT} Main St"
    assert profile["emails"][0]["label"] == f"w{REPLACEMENT}rk"
    assert profile["source"] == f"web{REPLACEMENT}form"
    assert profile["custom_fields"] == {
        f"nick{REPLACEMENT}": {"type": "string", "value": f"A{REPLACEMENT}", "personal": False}
    }
    assert view["tags"] == [f"v{REPLACEMENT}ip"]
    assert view["owner"] == f"test{REPLACEMENT}er"
    assert view["consents"]["email"]["source"] == f"call{REPLACEMENT}"
    interaction = next(e for e in view["timeline"] if "interaction" in e)
    assert interaction["interaction"]["subject"] == f"Hi{REPLACEMENT}"
    assert await dead_letters_about(stack, {str(contact_id)}) == []


async def test_a_contact_recorded_with_nul_in_its_text_can_still_be_found(stack: Stack) -> None:
    marker = secrets.token_hex(4)
    contact_id = await _record_contact(stack, first_name=f"Nul{marker}\x00", tags=["x\x00"])
    await projected(stack, str(contact_id), 1)
    response = await stack.projections.get(
        "/v1/customers", params={"q": f"nul{marker}"}, headers=stack.auth()
    )
    assert [item["id"] for item in response.json()["items"]] == [str(contact_id)]


async def test_the_contacts_service_still_reads_a_contact_recorded_with_nul_in_a_value(
    stack: Stack,
) -> None:
    contact_id = await _record_contact(
        stack, addresses=[PostalAddress.model_construct(label="home", street="12\x00 Main St")]
    )
    response = await stack.contacts.get(f"/v1/contacts/{contact_id}", headers=stack.auth())
    assert response.status_code == 200
    assert response.json()["addresses"][0]["street"] == "12\x00 Main St"


async def test_an_interaction_recorded_at_a_plus_20_offset_is_projected_in_utc(
    stack: Stack,
) -> None:
    contact_id = await _record_contact(stack)
    version = await _log_interaction(stack, contact_id, datetime(2026, 1, 1, 10, 0, tzinfo=PLUS_20))
    consent = await _contacts(stack).handle(
        SetConsent(
            record_type=Contact,
            record_id=contact_id,
            channel=ConsentChannel.SMS,
            status=ConsentStatus.GRANTED,
            source=None,
            at=datetime(2026, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
        ),
        CALLER,
    )
    assert consent.version == version + 1

    view = await projected(stack, str(contact_id), consent.version)

    assert view["interactions"]["last_at"] == "2025-12-31T14:00:00+00:00"
    interaction = next(e for e in view["timeline"] if "interaction" in e)
    assert interaction["occurred_at"] == "2025-12-31T14:00:00+00:00"
    assert view["consents"]["sms"]["at"] == "2026-01-02T09:59:00+00:00"
    assert await dead_letters_about(stack, {str(contact_id)}) == []


async def test_interactions_recorded_beyond_the_years_python_holds_in_utc_are_projected(
    stack: Stack,
) -> None:
    contact_id = await _record_contact(stack)
    await _log_interaction(
        stack, contact_id, datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    )
    version = await _log_interaction(
        stack,
        contact_id,
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
    )

    view = await projected(stack, str(contact_id), version)

    assert view["interactions"]["count"] == 2
    times = sorted(e["occurred_at"] for e in view["timeline"] if "interaction" in e)
    assert times == ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"]
    assert await dead_letters_about(stack, {str(contact_id)}) == []


async def test_a_contact_whose_indexed_text_exceeds_an_index_entry_is_projected(
    stack: Stack,
) -> None:
    """An owner taken from a token's subject was never limited: random text longer than
    a btree entry can hold (2,704 bytes) does not compress below it."""
    owner = secrets.token_urlsafe(3000)
    name = secrets.token_urlsafe(3000)
    contact_id = await _record_contact(stack, owner=owner, first_name=name, tags=[name])

    view = await projected(stack, str(contact_id), 1)

    assert view["owner"] == owner
    assert view["profile"]["first_name"] == name
    assert await dead_letters_about(stack, {str(contact_id)}) == []
