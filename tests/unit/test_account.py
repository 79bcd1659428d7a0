"""The account aggregate (a company)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from crm_contacts.domain.account import Account, AccountCannotBeItsOwnParent
from crm_shared.catalog.contacts import AccountCreated


def test_creating_an_account_records_its_details() -> None:
    account = Account.create(
        uuid4(), AccountCreated(name="Acme", domain="acme.com", department="sales")
    )
    assert account.name == "Acme"
    assert account.version == 1
    assert len(account.collect_events()) == 1


def test_an_account_cannot_be_its_own_parent() -> None:
    account_id = uuid4()
    with pytest.raises(AccountCannotBeItsOwnParent):
        Account.create(
            account_id, AccountCreated(name="Acme", department="s", parent_account_id=account_id)
        )
    account = Account.create(account_id, AccountCreated(name="Acme", department="s"))
    with pytest.raises(AccountCannotBeItsOwnParent):
        account.update({"parent_account_id": account_id})


def test_renaming_an_account_changes_its_name() -> None:
    account = Account.create(uuid4(), AccountCreated(name="Acme", department="s"))
    account.update({"name": "Acme Corp"})
    assert account.name == "Acme Corp"
    assert account.version == 2
