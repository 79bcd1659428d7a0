"""The customer 360's timeline: given a contact's events, then the entry of each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from crm_projections.customer360.documents import CONTACT_EVENTS, SUMMARIES
from crm_shared.catalog.contacts import (
    ContactConsentGranted,
    ContactInteractionLogged,
    ContactRegistered,
    ContactUpdated,
)
from crm_shared.values import Channel, ConsentChannel, Direction
from tests.projections.specs.customer360 import RECORDED_AT, timeline

REGISTERED = ContactRegistered(first_name="Ada", department="sales")


def test_an_entry_says_what_happened_when_by_whom_and_at_which_version() -> None:
    (entry,) = timeline(REGISTERED)
    assert {k: v for k, v in entry.items() if k != "event_id"} == {
        "type": "crm.contacts.contact.registered.v1",
        "summary": "Contact registered",
        "occurred_at": RECORDED_AT,
        "recorded_at": RECORDED_AT,
        "actor": "user:tester",
        "version": 1,
    }


def test_an_update_lists_the_fields_it_changed() -> None:
    _, entry = timeline(REGISTERED, ContactUpdated(tags=["vip"], job_title=None))
    assert (entry["summary"], entry["changed_fields"]) == (
        "Profile updated",
        ["job_title", "tags"],
    )


def test_an_interaction_is_placed_when_it_happened_with_what_was_said() -> None:
    interaction_id = uuid4()
    logged = ContactInteractionLogged(
        interaction_id=interaction_id,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        subject="Renewal",
        notes="Wants a discount",
        occurred_at=datetime(2026, 1, 1, 10, tzinfo=timezone(timedelta(hours=2))),
        by="alice",
    )
    _, entry = timeline(REGISTERED, logged)
    assert (entry["occurred_at"], entry["recorded_at"]) == (
        "2026-01-01T08:00:00+00:00",
        RECORDED_AT,
    )
    assert entry["summary"] == "inbound phone"
    assert entry["interaction"] == {
        "interaction_id": str(interaction_id),
        "channel": "phone",
        "direction": "inbound",
        "subject": "Renewal",
        "notes": "Wants a discount",
        "by": "alice",
    }


def test_a_consent_entry_holds_the_consent_in_utc() -> None:
    at = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=-3)))
    granted = ContactConsentGranted(channel=ConsentChannel.SMS, source="web", at=at)
    _, entry = timeline(REGISTERED, granted)
    assert entry["summary"] == "Consent granted"
    assert entry["consent"] == {
        "channel": "sms",
        "source": "web",
        "at": "2026-03-01T12:00:00+00:00",
    }


def test_every_contact_event_the_360_handles_has_a_summary() -> None:
    assert set(CONTACT_EVENTS) == set(SUMMARIES) | {ContactInteractionLogged}
