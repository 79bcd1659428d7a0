"""The contact aggregate: pure domain behaviour, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from crm_contacts.domain.contact import Contact, ContactErasedError
from crm_shared.catalog.contacts import (
    ContactArchived,
    ContactConsentGranted,
    ContactErased,
    ContactRegistered,
    ContactUpdated,
)
from crm_shared.records.record import RecordArchived
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction, Email

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def registered(**fields: object) -> Contact:
    details = ContactRegistered(
        first_name="Ada", last_name="Lovelace", department="sales", **fields
    )
    contact = Contact.register(uuid4(), details)
    contact.collect_events()
    return contact


def test_registering_a_contact_records_one_event_at_version_1() -> None:
    contact = Contact.register(uuid4(), ContactRegistered(first_name="Ada", department="sales"))
    events = contact.collect_events()
    assert [type(e.data) for e in events] == [ContactRegistered]
    assert contact.version == 1
    assert contact.first_name == "Ada"
    assert contact.archived is False


def test_an_update_records_only_the_fields_that_really_changed() -> None:
    contact = registered()
    contact.update({"first_name": "Ada", "job_title": "Analyst"})
    (event,) = contact.collect_events()
    assert isinstance(event.data, ContactUpdated)
    assert event.data.model_dump() == {"job_title": "Analyst"}
    assert contact.job_title == "Analyst"


def test_an_update_that_changes_nothing_records_nothing() -> None:
    contact = registered()
    contact.update({"first_name": "Ada"})
    assert contact.collect_events() == []
    assert contact.version == 1


def test_clearing_a_field_is_recorded_as_null() -> None:
    contact = registered(job_title="Analyst")
    contact.update({"job_title": None})
    (event,) = contact.collect_events()
    assert event.data.model_dump(mode="json") == {"job_title": None}
    assert contact.job_title is None


def test_an_archived_contact_refuses_changes_and_interactions() -> None:
    contact = registered()
    contact.archive("left the company")
    assert contact.archived
    with pytest.raises(RecordArchived):
        contact.update({"first_name": "Grace"})
    with pytest.raises(RecordArchived):
        contact.log_interaction(
            interaction_id=uuid4(),
            channel=Channel.PHONE,
            direction=Direction.INBOUND,
            subject=None,
            notes=None,
            occurred_at=NOW,
            by="alice",
        )


def test_archiving_twice_records_one_event() -> None:
    contact = registered()
    contact.archive(None)
    contact.archive(None)
    assert [type(e.data) for e in contact.collect_events()] == [ContactArchived]


def test_a_restored_contact_can_change_again() -> None:
    contact = registered()
    contact.archive(None)
    contact.restore()
    contact.update({"first_name": "Grace"})
    assert contact.first_name == "Grace"
    assert not contact.archived


def test_interactions_are_logged_in_order() -> None:
    contact = registered()
    for channel in (Channel.EMAIL, Channel.IN_PERSON):
        contact.log_interaction(
            interaction_id=uuid4(),
            channel=channel,
            direction=Direction.OUTBOUND,
            subject="hello",
            notes=None,
            occurred_at=NOW,
            by="alice",
        )
    assert [i.channel for i in contact.interactions] == [Channel.EMAIL, Channel.IN_PERSON]


def test_consent_follows_the_latest_decision_per_channel() -> None:
    contact = registered()
    contact.set_consent(ConsentChannel.EMAIL, ConsentStatus.GRANTED, "web form", NOW)
    contact.set_consent(ConsentChannel.EMAIL, ConsentStatus.WITHDRAWN, "unsubscribe link", NOW)
    contact.set_consent(ConsentChannel.SMS, ConsentStatus.GRANTED, "call", NOW)
    assert contact.consents[ConsentChannel.EMAIL].status == ConsentStatus.WITHDRAWN
    assert contact.consents[ConsentChannel.SMS].status == ConsentStatus.GRANTED


def test_repeating_the_same_consent_decision_records_nothing() -> None:
    contact = registered()
    contact.set_consent(ConsentChannel.EMAIL, ConsentStatus.GRANTED, "web", NOW)
    contact.collect_events()
    contact.set_consent(ConsentChannel.EMAIL, ConsentStatus.GRANTED, "web", NOW)
    assert contact.collect_events() == []


def test_replaying_the_events_rebuilds_the_same_contact() -> None:
    contact = Contact.register(
        uuid4(),
        ContactRegistered(
            first_name="Ada", department="sales", emails=[Email(address="ada@example.com")]
        ),
    )
    contact.update({"last_name": "Lovelace"})
    contact.set_consent(ConsentChannel.EMAIL, ConsentStatus.GRANTED, "web", NOW)
    contact.reassign("bob", "support")
    events = contact.collect_events()
    replayed = Contact.project(None, events)
    assert replayed is not None
    assert vars(replayed) == vars(contact)


def test_events_of_another_kind_of_aggregate_do_not_make_a_contact() -> None:
    from crm_contacts.domain.account import Account
    from crm_shared.catalog.contacts import AccountCreated

    account = Account.create(uuid4(), AccountCreated(name="Acme", department="sales"))
    assert Contact.project(None, account.collect_events()) is None


def test_reassigning_to_the_same_owner_and_department_records_nothing() -> None:
    contact = registered(owner="alice")
    contact.reassign("alice", "sales")
    assert contact.collect_events() == []
    contact.reassign("bob", "sales")
    assert contact.owner == "bob"
    assert [type(e.data).__name__ for e in contact.collect_events()] == ["ContactReassigned"]


def test_every_event_is_versioned_one_after_another() -> None:
    contact = Contact.register(uuid4(), ContactRegistered(first_name="A", department="x"))
    contact.update({"first_name": "B"})
    contact.archive(None)
    assert [e.originator_version for e in contact.collect_events()] == [1, 2, 3]


def test_granting_consent_records_channel_source_and_time() -> None:
    contact = registered()
    contact.set_consent(ConsentChannel.PHONE, ConsentStatus.GRANTED, "call", NOW)
    (event,) = contact.collect_events()
    assert isinstance(event.data, ContactConsentGranted)
    assert (event.data.channel, event.data.source, event.data.at) == (
        ConsentChannel.PHONE,
        "call",
        NOW,
    )


def test_erasing_empties_every_personal_field_and_keeps_the_rest() -> None:
    contact = registered(
        emails=[Email(address="ada@example.com")],
        job_title="Analyst",
        tags=["vip"],
        custom_fields={
            "nickname": {"type": "string", "value": "Countess", "personal": True},
            "plan": {"type": "string", "value": "gold"},
        },
    )
    contact.log_interaction(
        interaction_id=uuid4(),
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        subject="Pricing",
        notes="Called from home",
        occurred_at=NOW,
        by="alice",
    )
    contact.erase()
    [event] = [e for e in contact.collect_events() if isinstance(e.data, ContactErased)]
    assert event.data.model_dump() == {}, "the erasure itself carries no personal data"
    assert contact.erased_at is not None
    assert (contact.first_name, contact.last_name, contact.emails) == (None, None, [])
    assert list(contact.custom_fields) == ["plan"]
    assert (contact.interactions[0].subject, contact.interactions[0].notes) == (None, None)
    assert (contact.job_title, contact.tags, contact.department) == ("Analyst", ["vip"], "sales")


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update({"first_name": "Back"}),
        lambda c: c.archive(None),
        lambda c: c.reassign("bob", "sales"),
        lambda c: c.set_consent(ConsentChannel.EMAIL, ConsentStatus.GRANTED, None, NOW),
        lambda c: c.erase(),
    ],
)
def test_an_erased_contact_can_no_longer_be_changed(change: Callable[[Contact], None]) -> None:
    contact = registered()
    contact.erase()
    contact.collect_events()
    with pytest.raises(ContactErasedError):
        change(contact)
    assert contact.collect_events() == []
