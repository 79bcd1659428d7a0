"""The rules of accounts (companies) beyond those of every record."""

from __future__ import annotations

from uuid import uuid4

from crm_contacts.commands import ChangeAccount
from crm_contacts.domain.account import AccountCannotBeItsOwnParent, AccountNeedsAName
from tests.contacts.specs.support import MANAGER, account_created, spec

ACME = uuid4()


async def test_an_account_cannot_become_its_own_parent() -> None:
    await (
        spec.given({ACME: [account_created()]})
        .when(ChangeAccount(record_id=ACME, changes={"parent_account_id": ACME}), by=MANAGER)
        .then_refused(AccountCannotBeItsOwnParent, field="parent_account_id")
    )


async def test_an_account_keeps_a_name() -> None:
    await (
        spec.given({ACME: [account_created()]})
        .when(ChangeAccount(record_id=ACME, changes={"name": None}), by=MANAGER)
        .then_refused(AccountNeedsAName, field="name")
    )
