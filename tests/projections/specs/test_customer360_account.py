"""The customer 360's document of an account: given its events, then the document."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountConsentGranted,
    AccountCreated,
    AccountInteractionLogged,
    AccountReassigned,
    AccountRestored,
    AccountUpdated,
)
from crm_shared.values import Channel, CompanySize, ConsentChannel, Direction
from tests.projections.specs.customer360 import account

GLOBEX = AccountCreated(
    name="Globex",
    domain="globex.example.com",
    size=CompanySize.MEDIUM,
    owner="alice",
    department="sales",
)


def test_a_created_account_is_a_document_of_its_company_details() -> None:
    doc = account(GLOBEX)
    assert doc is not None
    assert {k: v for k, v in doc.items() if k != "id"} == {
        "name": "Globex",
        "domain": "globex.example.com",
        "industry": None,
        "size": "11-50",
        "address": None,
        "parent_account_id": None,
        "owner": "alice",
        "department": "sales",
        "archived": False,
        "version": 1,
    }


def test_renaming_an_account_changes_only_its_name() -> None:
    doc = account(GLOBEX, AccountUpdated(name="Globex Corporation"))
    assert doc is not None
    assert (doc["name"], doc["domain"], doc["version"]) == (
        "Globex Corporation",
        "globex.example.com",
        2,
    )


def test_an_account_is_archived_restored_and_reassigned_like_a_contact() -> None:
    archived = account(GLOBEX, AccountArchived())
    restored = account(GLOBEX, AccountArchived(), AccountRestored())
    moved = account(GLOBEX, AccountReassigned(owner="bob", department="support"))
    assert archived is not None and archived["archived"] is True
    assert restored is not None and restored["archived"] is False
    assert moved is not None and (moved["owner"], moved["department"]) == ("bob", "support")


def test_an_accounts_interactions_and_consents_change_only_its_version() -> None:
    created = account(GLOBEX)
    doc = account(
        GLOBEX,
        AccountInteractionLogged(
            interaction_id=uuid4(),
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        AccountConsentGranted(channel=ConsentChannel.EMAIL, at=datetime(2026, 1, 1, tzinfo=UTC)),
    )
    assert created is not None and doc is not None
    assert doc == created | {"id": doc["id"], "version": 3}


def test_events_of_an_account_never_created_make_no_document() -> None:
    assert account(AccountUpdated(name="Ghost")) is None
