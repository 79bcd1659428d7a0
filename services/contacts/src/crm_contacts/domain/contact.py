"""A contact: a person we have a relationship with."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from crm_contacts.domain.record import CrmRecord, RecordEvents
from crm_shared.catalog.contacts import (
    ContactArchived,
    ContactConsentGranted,
    ContactConsentWithdrawn,
    ContactInteractionLogged,
    ContactReassigned,
    ContactRegistered,
    ContactRestored,
    ContactUpdated,
)
from crm_shared.domain import applies
from crm_shared.values import CustomField, Email, Phone, PostalAddress


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

    @classmethod
    def register(cls, contact_id: UUID, details: ContactRegistered) -> Contact:
        contact = cls(contact_id)
        contact._trigger(details)
        return contact

    @applies(ContactRegistered)
    def _registered(self, e: ContactRegistered) -> None:
        self._start_record(e)
