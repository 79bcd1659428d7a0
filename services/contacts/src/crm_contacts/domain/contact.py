"""A contact: a person we have a relationship with."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from crm_contacts.domain.record import CrmRecord, RecordEvents
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
from crm_shared.domain import DomainError, applies
from crm_shared.values import CustomField, Email, Phone, PostalAddress


class ContactErasedError(DomainError):
    """The person was erased: the contact can be read (as erased) but no longer changed."""

    code = "erased"
    status = 410


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
        contact = cls(contact_id)
        contact._trigger(details)
        return contact

    @applies(ContactRegistered)
    def _registered(self, e: ContactRegistered) -> None:
        self._start_record(e)

    def check_changeable(self) -> None:
        if self.erased_at is not None:
            raise ContactErasedError(f"contact {self.id} was erased")

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
