"""Logging interactions with a record, and its consent to be contacted per channel."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import (
    AccountInteractionLogged,
    ContactArchived,
    ContactConsentGranted,
    ContactConsentWithdrawn,
    ContactInteractionLogged,
)
from crm_shared.domain import Forbidden
from crm_shared.records.commands import LogInteraction, SetConsent
from crm_shared.records.record import CrmRecord, RecordArchived
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction
from tests.contacts.specs.support import (
    NOW,
    OTHER_REP,
    OWNER,
    account_created,
    registered,
    spec,
)

ADA = uuid4()
ACME = uuid4()


def call(record_type: type[CrmRecord], record_id: UUID) -> LogInteraction[Any]:
    return LogInteraction(
        record_type=record_type,
        record_id=record_id,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        subject="Pricing",
        notes="Asked for a quote",
        occurred_at=NOW,
        by="rita",
    )


def consent(status: ConsentStatus, source: str = "web form") -> SetConsent[Contact]:
    return SetConsent(
        record_type=Contact,
        record_id=ADA,
        channel=ConsentChannel.EMAIL,
        status=status,
        source=source,
        at=NOW,
    )


async def test_logging_an_interaction_records_who_when_how_and_what() -> None:
    command = call(Contact, ADA)
    await (
        spec.given({ADA: [registered()]})
        .when(command, by=OWNER)
        .then(
            ContactInteractionLogged(
                interaction_id=command.interaction_id,
                channel=Channel.PHONE,
                direction=Direction.INBOUND,
                subject="Pricing",
                notes="Asked for a quote",
                occurred_at=NOW,
                by="rita",
            )
        )
    )


async def test_an_account_logs_interactions_with_its_own_event() -> None:
    command = call(Account, ACME)
    await (
        spec.given({ACME: [account_created()]})
        .when(command, by=OWNER)
        .then(
            AccountInteractionLogged(
                interaction_id=command.interaction_id,
                channel=Channel.PHONE,
                direction=Direction.INBOUND,
                subject="Pricing",
                notes="Asked for a quote",
                occurred_at=NOW,
                by="rita",
            )
        )
    )


async def test_an_archived_record_takes_no_interactions() -> None:
    await (
        spec.given({ADA: [registered(), ContactArchived()]})
        .when(call(Contact, ADA), by=OWNER)
        .then_refused(RecordArchived)
    )


async def test_logging_an_interaction_is_a_change_of_the_record() -> None:
    await (
        spec.given({ADA: [registered(owner="rita")]})
        .when(call(Contact, ADA), by=OTHER_REP)
        .then_refused(Forbidden)
    )


async def test_granting_consent_records_channel_source_and_time() -> None:
    await (
        spec.given({ADA: [registered()]})
        .when(consent(ConsentStatus.GRANTED), by=OWNER)
        .then(ContactConsentGranted(channel=ConsentChannel.EMAIL, source="web form", at=NOW))
    )


async def test_withdrawing_consent_records_it() -> None:
    granted = ContactConsentGranted(channel=ConsentChannel.EMAIL, source="web form", at=NOW)
    await (
        spec.given({ADA: [registered(), granted]})
        .when(consent(ConsentStatus.WITHDRAWN, "unsubscribe link"), by=OWNER)
        .then(
            ContactConsentWithdrawn(channel=ConsentChannel.EMAIL, source="unsubscribe link", at=NOW)
        )
    )


async def test_repeating_the_same_consent_decision_records_nothing() -> None:
    granted = ContactConsentGranted(channel=ConsentChannel.EMAIL, source="web form", at=NOW)
    await (
        spec.given({ADA: [registered(), granted]})
        .when(consent(ConsentStatus.GRANTED), by=OWNER)
        .then()
    )


async def test_consent_is_set_even_on_an_archived_record() -> None:
    await (
        spec.given({ADA: [registered(), ContactArchived()]})
        .when(consent(ConsentStatus.WITHDRAWN), by=OWNER)
        .then(ContactConsentWithdrawn(channel=ConsentChannel.EMAIL, source="web form", at=NOW))
    )
