"""Events of the contacts service (topic ``crm.contacts.events``).

What a field may hold is checked where a change comes in (the request models); the
catalog describes what was recorded, which must stay readable forever. So its own text
and instants are plain ``str`` and ``datetime``: events recorded before the contacts
service refused a NUL or a +20:00 offset hold them, and a stricter type here would make
those events, and with them their contact, undecodable. The shared value types (emails,
addresses, custom fields) are the requests' own; the event store reads them with the
``RECORDED`` context (``crm_shared.values``), which lets such old values through.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from crm_shared.events.catalog import EventData, event_type, personal
from crm_shared.records.events import (
    ArchivedData,
    Changes,
    ConsentData,
    InteractionData,
    ReassignedData,
)
from crm_shared.values import CompanySize, CustomField, Email, Phone, PostalAddress

# --- contact (a person) --------------------------------------------------------------


@event_type("contacts", "contact", "registered")
class ContactRegistered(EventData):
    first_name: str | None = personal(None)
    last_name: str | None = personal(None)
    emails: list[Email] = personal(default_factory=list)
    phones: list[Phone] = personal(default_factory=list)
    addresses: list[PostalAddress] = personal(default_factory=list)
    birthday: date | None = personal(None)
    job_title: str | None = None
    source: str | None = Field(None, description="How the contact found us")
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, CustomField] = Field(default_factory=dict)
    account_id: UUID | None = None
    owner: str | None = None
    department: str


@event_type("contacts", "contact", "updated")
class ContactUpdated(Changes):
    first_name: str | None = personal(None)
    last_name: str | None = personal(None)
    emails: list[Email] | None = personal(None)
    phones: list[Phone] | None = personal(None)
    addresses: list[PostalAddress] | None = personal(None)
    birthday: date | None = personal(None)
    job_title: str | None = None
    source: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, CustomField] | None = None
    account_id: UUID | None = None


@event_type("contacts", "contact", "archived")
class ContactArchived(ArchivedData):
    pass


@event_type("contacts", "contact", "restored")
class ContactRestored(EventData):
    pass


@event_type("contacts", "contact", "reassigned")
class ContactReassigned(ReassignedData):
    pass


@event_type("contacts", "contact", "interaction_logged")
class ContactInteractionLogged(InteractionData):
    pass


@event_type("contacts", "contact", "consent_granted")
class ContactConsentGranted(ConsentData):
    pass


@event_type("contacts", "contact", "consent_withdrawn")
class ContactConsentWithdrawn(ConsentData):
    pass


@event_type("contacts", "contact", "erased")
class ContactErased(EventData):
    """The person's data key was deleted: every personal field of every earlier event
    can no longer be read. Carries no personal data itself."""

    erases_subject = True


# --- account (a company) -------------------------------------------------------------


@event_type("contacts", "account", "created")
class AccountCreated(EventData):
    name: str
    domain: str | None = None
    industry: str | None = None
    size: CompanySize | None = None
    address: PostalAddress | None = None
    parent_account_id: UUID | None = None
    owner: str | None = None
    department: str


@event_type("contacts", "account", "updated")
class AccountUpdated(Changes):
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    size: CompanySize | None = None
    address: PostalAddress | None = None
    parent_account_id: UUID | None = None


@event_type("contacts", "account", "archived")
class AccountArchived(ArchivedData):
    pass


@event_type("contacts", "account", "restored")
class AccountRestored(EventData):
    pass


@event_type("contacts", "account", "reassigned")
class AccountReassigned(ReassignedData):
    pass


@event_type("contacts", "account", "interaction_logged")
class AccountInteractionLogged(InteractionData):
    pass


@event_type("contacts", "account", "consent_granted")
class AccountConsentGranted(ConsentData):
    pass


@event_type("contacts", "account", "consent_withdrawn")
class AccountConsentWithdrawn(ConsentData):
    pass
