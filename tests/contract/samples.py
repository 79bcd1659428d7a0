"""One realistic example of every event type in the catalog (a new type needs one here)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

ACCOUNT_ID = "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00"
INTERACTION = {
    "interaction_id": "2b9c3a7e-1d2f-4e5a-8b6c-7d8e9f0a1b2c",
    "channel": "phone",
    "direction": "inbound",
    "subject": "Pricing question",
    "notes": "Asked about the enterprise plan",
    "occurred_at": "2026-11-01T10:00:00Z",
    "by": "alice",
}
CONSENT = {"channel": "email", "source": "web form", "at": "2026-11-01T10:00:00Z"}

SAMPLES: dict[str, dict[str, Any]] = {
    "crm.contacts.contact.registered.v1": {
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
        "account_id": ACCOUNT_ID,
        "owner": "alice",
        "department": "sales",
    },
    "crm.contacts.contact.updated.v1": {"last_name": "Byron", "job_title": None},
    "crm.contacts.contact.archived.v1": {"reason": "duplicate"},
    "crm.contacts.contact.restored.v1": {},
    "crm.contacts.contact.erased.v1": {},
    "crm.contacts.contact.reassigned.v1": {"owner": "bob", "department": "support"},
    "crm.contacts.contact.interaction_logged.v1": INTERACTION,
    "crm.contacts.contact.consent_granted.v1": CONSENT,
    "crm.contacts.contact.consent_withdrawn.v1": CONSENT,
    "crm.contacts.account.created.v1": {
        "name": "Acme",
        "domain": "acme.com",
        "industry": "Manufacturing",
        "size": "51-200",
        "address": {"label": "hq", "city": "Springfield", "country": "US"},
        "parent_account_id": None,
        "owner": "alice",
        "department": "sales",
    },
    "crm.contacts.account.updated.v1": {"name": "Acme Corp"},
    "crm.contacts.account.archived.v1": {"reason": None},
    "crm.contacts.account.restored.v1": {},
    "crm.contacts.account.reassigned.v1": {"owner": None, "department": "sales"},
    "crm.contacts.account.interaction_logged.v1": INTERACTION,
    "crm.contacts.account.consent_granted.v1": CONSENT,
    "crm.contacts.account.consent_withdrawn.v1": CONSENT,
}

AGGREGATE_ID = UUID("0e54d752-308c-4ed5-96dc-95509725aa29")
