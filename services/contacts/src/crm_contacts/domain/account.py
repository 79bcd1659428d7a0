"""An account: a company we have a relationship with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self
from uuid import UUID

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
from crm_shared.domain import Invalid, applies
from crm_shared.events import EventData
from crm_shared.records.record import CrmRecord, RecordEvents
from crm_shared.values import CompanySize, PostalAddress


class AccountCannotBeItsOwnParent(Invalid):
    code = "invalid_parent"


class AccountNeedsAName(Invalid):
    """A company is known by its name: it can change, not go."""


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
    reference_fields = {"parent_account_id": "account"}

    name: str
    domain: str | None
    industry: str | None
    size: CompanySize | None
    address: PostalAddress | None
    parent_account_id: UUID | None

    @classmethod
    def create(cls, record_id: UUID, details: EventData) -> Self:
        if getattr(details, "parent_account_id", None) == record_id:
            raise AccountCannotBeItsOwnParent(
                "an account cannot be its own parent", field="parent_account_id"
            )
        return super().create(record_id, details)

    def update(self, changes: Mapping[str, Any]) -> None:
        if "name" in changes and changes["name"] is None:
            raise AccountNeedsAName("an account needs a name", field="name")
        if changes.get("parent_account_id") == self.id:
            raise AccountCannotBeItsOwnParent(
                "an account cannot be its own parent", field="parent_account_id"
            )
        super().update(changes)

    @applies(AccountCreated)
    def _created(self, e: AccountCreated) -> None:
        self._start_record(e)
