"""The customer 360's document of a contact: given its events, then the document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from crm_shared.catalog.contacts import (
    ContactArchived,
    ContactConsentGranted,
    ContactConsentWithdrawn,
    ContactErased,
    ContactInteractionLogged,
    ContactReassigned,
    ContactRegistered,
    ContactRestored,
    ContactUpdated,
)
from crm_shared.projections.specs import history
from crm_shared.values import (
    Channel,
    ConsentChannel,
    Direction,
    Email,
    Phone,
    PostalAddress,
    StringField,
)
from tests.projections.specs.customer360 import CONTACT_ID, RECORDED_AT, contact, fold_contact

ACCOUNT_ID = uuid4()
ADA = ContactRegistered(
    first_name="Ada",
    last_name="Lovelace",
    emails=[Email(address="ada@example.com")],
    phones=[Phone(number="+14155550123")],
    tags=["vip"],
    owner="alice",
    department="sales",
    account_id=ACCOUNT_ID,
)


def interaction(channel: Channel, occurred_at: datetime) -> ContactInteractionLogged:
    return ContactInteractionLogged(
        interaction_id=uuid4(),
        channel=channel,
        direction=Direction.INBOUND,
        occurred_at=occurred_at,
    )


def test_a_registered_contact_is_a_document_of_its_profile_and_its_place() -> None:
    assert contact(ADA) == {
        "id": str(CONTACT_ID),
        "version": 1,
        "profile": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"address": "ada@example.com", "label": "work", "primary": False}],
            "phones": [{"number": "+14155550123", "label": "work"}],
            "addresses": [],
            "birthday": None,
            "job_title": None,
            "source": None,
            "custom_fields": {},
        },
        "tags": ["vip"],
        "owner": "alice",
        "department": "sales",
        "account_id": str(ACCOUNT_ID),
        "archived": False,
        "consents": {},
        "interactions": {"count": 0, "last_at": None, "by_channel": {}},
        "created_at": RECORDED_AT,
        "updated_at": RECORDED_AT,
    }


def test_events_of_a_contact_never_registered_make_no_document() -> None:
    assert contact(ContactUpdated(job_title="CTO"), ContactArchived()) is None


def test_an_update_changes_only_the_fields_it_names() -> None:
    doc = contact(ADA, ContactUpdated(job_title="CTO", tags=["vip", "board"]))
    assert doc is not None
    assert doc["profile"]["job_title"] == "CTO" and doc["tags"] == ["vip", "board"]
    assert doc["profile"]["first_name"] == "Ada" and doc["owner"] == "alice"
    assert (doc["version"], doc["created_at"]) == (2, RECORDED_AT)


def test_an_update_that_clears_a_field_leaves_it_empty() -> None:
    doc = contact(ADA, ContactUpdated(last_name=None, account_id=None))
    assert doc is not None
    assert (doc["profile"]["last_name"], doc["account_id"]) == (None, None)


def test_an_archived_contact_is_archived_until_restored() -> None:
    archived = contact(ADA, ContactArchived(reason="left the company"))
    restored = contact(ADA, ContactArchived(), ContactRestored())
    assert archived is not None and archived["archived"] is True
    assert restored is not None and restored["archived"] is False


def test_a_reassigned_contact_moves_to_its_new_owner_and_department() -> None:
    doc = contact(ADA, ContactReassigned(owner=None, department="support"))
    assert doc is not None and (doc["owner"], doc["department"]) == (None, "support")


def test_interactions_are_counted_by_channel_and_the_latest_is_remembered() -> None:
    doc = contact(
        ADA,
        interaction(Channel.PHONE, datetime(2026, 1, 2, 10, tzinfo=UTC)),
        # Logged later, happened earlier: the latest stays the latest.
        interaction(Channel.EMAIL, datetime(2026, 1, 1, 10, tzinfo=UTC)),
        interaction(Channel.PHONE, datetime(2025, 12, 1, 10, tzinfo=UTC)),
    )
    assert doc is not None
    assert doc["interactions"] == {
        "count": 3,
        "last_at": "2026-01-02T10:00:00+00:00",
        "by_channel": {"phone": 2, "email": 1},
    }


def test_an_interaction_at_an_offset_counts_in_utc() -> None:
    plus_20 = timezone(timedelta(hours=20))  # recorded before the API refused such offsets
    doc = contact(ADA, interaction(Channel.CHAT, datetime(2026, 1, 1, 10, tzinfo=plus_20)))
    assert doc is not None and doc["interactions"]["last_at"] == "2025-12-31T14:00:00+00:00"


def test_an_interaction_outside_the_years_python_holds_in_utc_counts_at_the_calendars_edge() -> (
    None
):
    first = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    last = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
    early = contact(ADA, interaction(Channel.FAX, first))
    late = contact(ADA, interaction(Channel.FAX, last))
    assert early is not None and early["interactions"]["last_at"] == "0001-01-01T00:00:00+00:00"
    assert late is not None
    assert late["interactions"]["last_at"] == "9999-12-31T23:59:59.999999+00:00"


def test_consent_is_kept_per_channel_with_its_source_and_time_in_utc() -> None:
    at = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    doc = contact(
        ADA,
        ContactConsentGranted(channel=ConsentChannel.EMAIL, source="web", at=at),
        ContactConsentGranted(channel=ConsentChannel.SMS, source="call", at=at),
        ContactConsentWithdrawn(channel=ConsentChannel.SMS, source=None, at=at),
    )
    assert doc is not None
    assert doc["consents"] == {
        "email": {"status": "granted", "source": "web", "at": "2026-03-01T07:00:00+00:00"},
        "sms": {"status": "withdrawn", "source": None, "at": "2026-03-01T07:00:00+00:00"},
    }


def test_an_erased_contact_keeps_its_record_and_loses_everything_personal() -> None:
    registered = ADA.model_copy(
        update={
            "addresses": [PostalAddress(city="London")],
            "job_title": "Countess",
            "custom_fields": {
                "nickname": StringField(value="Enchantress", personal=True),
                "plan": StringField(value="gold"),
            },
        }
    )
    doc = contact(registered, ContactErased())
    assert doc is not None
    assert doc["profile"] == {
        "first_name": None,
        "last_name": None,
        "emails": [],
        "phones": [],
        "addresses": [],
        "birthday": None,
        "job_title": "Countess",
        "source": None,
        "custom_fields": {"plan": {"type": "string", "value": "gold", "personal": False}},
    }
    assert (doc["erased"], doc["erased_at"], doc["tags"]) == (True, RECORDED_AT, ["vip"])


def test_the_document_is_as_of_its_last_event() -> None:
    later = datetime(2026, 12, 1, 8, tzinfo=timezone(timedelta(hours=-5)))
    events = history(ADA, ContactArchived(), aggregate_id=CONTACT_ID)
    events[-1].time = later
    doc = fold_contact(events)
    assert doc is not None
    assert (doc["version"], doc["updated_at"]) == (2, "2026-12-01T13:00:00+00:00")
    assert doc["created_at"] == RECORDED_AT
