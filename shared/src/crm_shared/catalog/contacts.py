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
from typing import Any
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

# Examples shared by the contact's and the account's events of the same shape.
INTERACTION_EXAMPLE: dict[str, Any] = {
    "interaction_id": "2b9c3a7e-1d2f-4e5a-8b6c-7d8e9f0a1b2c",
    "channel": "phone",
    "direction": "inbound",
    "subject": "Pricing question",
    "notes": "Asked about the enterprise plan",
    "occurred_at": "2026-11-01T10:00:00Z",
    "by": "alice",
}
CONSENT_EXAMPLE: dict[str, Any] = {
    "channel": "email",
    "source": "web form",
    "at": "2026-11-01T10:00:00Z",
}

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
    example = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [{"address": "ada@example.com", "label": "work", "primary": True}],
        "phones": [{"number": "+442079460958", "label": "mobile"}],
        "addresses": [
            {"label": "home", "street": "12 St James's Sq", "city": "London", "country": "GB"}
        ],
        "birthday": "1815-12-10",
        "job_title": "Analyst",
        "source": "conference",
        "tags": ["vip"],
        "custom_fields": {"shoe_size": {"type": "number", "value": "38", "personal": True}},
        "account_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00",
        "owner": "alice",
        "department": "sales",
    }


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
    example = {"last_name": "Byron", "job_title": None}


@event_type("contacts", "contact", "archived")
class ContactArchived(ArchivedData):
    example = {"reason": "duplicate"}


@event_type("contacts", "contact", "restored")
class ContactRestored(EventData):
    example = {}


@event_type("contacts", "contact", "reassigned")
class ContactReassigned(ReassignedData):
    example = {"owner": "bob", "department": "support"}


@event_type("contacts", "contact", "interaction_logged")
class ContactInteractionLogged(InteractionData):
    example = INTERACTION_EXAMPLE


@event_type("contacts", "contact", "consent_granted")
class ContactConsentGranted(ConsentData):
    example = CONSENT_EXAMPLE


@event_type("contacts", "contact", "consent_withdrawn")
class ContactConsentWithdrawn(ConsentData):
    example = CONSENT_EXAMPLE


@event_type("contacts", "contact", "erased")
class ContactErased(EventData):
    """The person's data key was deleted: every personal field of every earlier event
    can no longer be read. Carries no personal data itself."""

    erases_data_subject = True
    example = {}


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
    example = {
        "name": "Acme",
        "domain": "acme.com",
        "industry": "Manufacturing",
        "size": "51-200",
        "address": {"label": "hq", "city": "Springfield", "country": "US"},
        "parent_account_id": None,
        "owner": "alice",
        "department": "sales",
    }


@event_type("contacts", "account", "updated")
class AccountUpdated(Changes):
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    size: CompanySize | None = None
    address: PostalAddress | None = None
    parent_account_id: UUID | None = None
    example = {"name": "Acme Corp"}


@event_type("contacts", "account", "archived")
class AccountArchived(ArchivedData):
    example = {"reason": None}


@event_type("contacts", "account", "restored")
class AccountRestored(EventData):
    example = {}


@event_type("contacts", "account", "reassigned")
class AccountReassigned(ReassignedData):
    example = {"owner": None, "department": "sales"}


@event_type("contacts", "account", "interaction_logged")
class AccountInteractionLogged(InteractionData):
    example = INTERACTION_EXAMPLE


@event_type("contacts", "account", "consent_granted")
class AccountConsentGranted(ConsentData):
    example = CONSENT_EXAMPLE


@event_type("contacts", "account", "consent_withdrawn")
class AccountConsentWithdrawn(ConsentData):
    example = CONSENT_EXAMPLE
