"""A contact: a person we have a relationship with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

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
from crm_shared.domain import Gone, applies
from crm_shared.records.record import CrmRecord, RecordEvents
from crm_shared.values import CustomField, Email, Phone, PostalAddress

# Fields holding many values: clearing one (null) leaves it empty.
LIST_FIELDS: dict[str, type[list[Any]] | type[dict[str, Any]]] = {
    "emails": list,
    "phones": list,
    "addresses": list,
    "tags": list,
    "custom_fields": dict,
}


class ContactErasedError(Gone):
    """The person was erased: the contact can be read (as erased) but no longer changed."""

    code = "erased"


class Contact(CrmRecord):
    creation_events = (ContactRegistered,)
    events = RecordEvents(
        updated=ContactUpdated,
        archived=ContactArchived,
        restored=ContactRestored,
        reassigned=ContactReassigned,
        interaction_logged=ContactInteractionLogged,
        consent_granted=ContactConsentGranted,
        consent_withdrawn=ContactConsentWithdrawn,
    )
    reference_fields = {"account_id": "account"}

    first_name: str | None
    last_name: str | None
    emails: list[Email]
    phones: list[Phone]
    addresses: list[PostalAddress]
    birthday: date | None
    job_title: str | None
    source: str | None
    tags: list[str]
    custom_fields: dict[str, CustomField]
    account_id: UUID | None
    erased_at: datetime | None = None

    @classmethod
    def register(cls, contact_id: UUID, details: ContactRegistered) -> Contact:
        return cls.create(contact_id, details)

    @applies(ContactRegistered)
    def _registered(self, e: ContactRegistered) -> None:
        self._start_record(e)

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def check_changeable(self) -> None:
        if self.erased:
            raise ContactErasedError(f"contact {self.id} was erased")

    def update(self, changes: Mapping[str, Any]) -> None:
        cleared = {
            name: LIST_FIELDS[name]()
            for name, v in changes.items()
            if v is None and name in LIST_FIELDS
        }
        super().update({**changes, **cleared})

    def erase(self) -> None:
        """Right to erasure: the person's data key goes, and with it every personal field
        of every event; the contact stays, as erased, so the streams stay whole."""
        self.check_changeable()
        self._trigger(ContactErased())

    @applies(ContactErased)
    def _erased(self, _: ContactErased) -> None:
        self.erased_at = self.last_modified
        self.first_name = self.last_name = self.birthday = None
        self.emails, self.phones, self.addresses = [], [], []
        self.custom_fields = {k: v for k, v in self.custom_fields.items() if not v.personal}
        self.interactions = [
            i.model_copy(update={"subject": None, "notes": None}) for i in self.interactions
        ]
