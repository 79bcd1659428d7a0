"""An account: a company we have a relationship with."""

from __future__ import annotations

from uuid import UUID

from crm_contacts.domain.record import CrmRecord, RecordEvents
from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountConsentGranted,
    AccountConsentWithdrawn,
    AccountCreated,
    AccountInteractionLogged,
    AccountReassigned,
    AccountRestored,
    AccountUpdated,
)
from crm_shared.domain import DomainError, applies
from crm_shared.values import CompanySize, PostalAddress


class AccountCannotBeItsOwnParent(DomainError):
    code = "invalid_parent"
    status = 422


class Account(CrmRecord):
    creation_events = (AccountCreated,)
    events = RecordEvents(
        updated=AccountUpdated,
        archived=AccountArchived,
        restored=AccountRestored,
        reassigned=AccountReassigned,
        interaction_logged=AccountInteractionLogged,
        consent_granted=AccountConsentGranted,
        consent_withdrawn=AccountConsentWithdrawn,
    )

    name: str
    domain: str | None
    industry: str | None
    size: CompanySize | None
    address: PostalAddress | None
    parent_account_id: UUID | None

    @classmethod
    def create(cls, account_id: UUID, details: AccountCreated) -> Account:
        if details.parent_account_id == account_id:
            raise AccountCannotBeItsOwnParent("an account cannot be its own parent")
        account = cls(account_id)
        account._trigger(details)
        return account

    def update(self, changes: dict[str, object]) -> None:
        if changes.get("parent_account_id") == self.id:
            raise AccountCannotBeItsOwnParent("an account cannot be its own parent")
        super().update(changes)

    @applies(AccountCreated)
    def _created(self, e: AccountCreated) -> None:
        self._start_record(e)
