"""Lead events of the sales service (topic ``crm.sales.events``).

A lead is a person who may become a customer: their name, email and phone are personal
data, sealed with the lead's own key as a contact's are. As in ``catalog/contacts.py``,
text and instants are plain ``str`` and ``datetime`` here: the request models check what
comes in, the catalog describes what was recorded, which must stay readable forever.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type, personal
from crm_shared.records.events import Changes, ReassignedData

# --- lead (a person who may become a customer) ---------------------------------------


@event_type("sales", "lead", "registered")
class LeadRegistered(EventData):
    first_name: str | None = personal(None)
    last_name: str | None = personal(None)
    email: str | None = personal(None)
    phone: str | None = personal(None, description="E.164")
    job_title: str | None = None
    company_name: str | None = None
    company_size: int | None = Field(None, description="Employees")
    industry: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2")
    region: str | None = None
    source: str | None = Field(None, description="How the lead found us")
    campaign_id: UUID | None = Field(None, description="The marketing campaign it came from")
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    team: str | None = None
    owner: str | None = None
    department: str
    example = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "phone": "+14155550123",
        "job_title": "VP Engineering",
        "company_name": "Acme",
        "company_size": 250,
        "industry": "Manufacturing",
        "country": "US",
        "region": "North America",
        "source": "webinar",
        "campaign_id": "0b5d3c1e-8a2f-4d6b-9e7c-1f2a3b4c5d6e",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring-launch",
        "utm_term": None,
        "utm_content": None,
        "team": "inside-sales",
        "owner": "alice",
        "department": "sales",
    }


@event_type("sales", "lead", "changed")
class LeadChanged(Changes):
    first_name: str | None = personal(None)
    last_name: str | None = personal(None)
    email: str | None = personal(None)
    phone: str | None = personal(None, description="E.164")
    job_title: str | None = None
    company_name: str | None = None
    company_size: int | None = Field(None, description="Employees")
    industry: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2")
    region: str | None = None
    source: str | None = Field(None, description="How the lead found us")
    campaign_id: UUID | None = Field(None, description="The marketing campaign it came from")
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    team: str | None = None
    example = {"job_title": "CTO", "utm_term": None}


@event_type("sales", "lead", "work_started")
class LeadWorkStarted(EventData):
    """A rep took up a new lead: its status is now ``working``."""

    example = {}


@event_type("sales", "lead", "qualified")
class LeadQualified(EventData):
    example = {}


@event_type("sales", "lead", "disqualified")
class LeadDisqualified(EventData):
    reason: str
    example = {"reason": "no budget this year"}


@event_type("sales", "lead", "conversion_started")
class LeadConversionStarted(EventData):
    """A conversion of the lead began: what it creates in the contacts service is settled
    here, once, so that whoever finishes it (a retry, another user) creates the same records
    rather than a second contact."""

    owner: str = Field(description="Who owns the contact, account and opportunity it creates")
    create_account: bool = Field(description="Whether the lead's company becomes an account")
    example = {"owner": "alice", "create_account": True}


@event_type("sales", "lead", "converted")
class LeadConverted(EventData):
    """The lead became a contact (and an account, when it named a company) in the contacts
    service, and an opportunity in sales."""

    contact_id: UUID
    account_id: UUID | None = None
    opportunity_id: UUID | None = None
    example = {
        "contact_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00",
        "account_id": "2b9c3a7e-1d2f-4e5a-8b6c-7d8e9f0a1b2c",
        "opportunity_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    }


@event_type("sales", "lead", "erased")
class LeadErased(EventData):
    """The lead's person was erased (the contact it became was, ``contact_id``): the lead's
    data key was deleted, so every personal field of every earlier event of the lead can no
    longer be read. Carries no personal data itself."""

    erases_data_subject = True
    contact_id: UUID | None = Field(None, description="The erased contact it became, if any")
    example = {"contact_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00"}


class ScoreReason(BaseModel):
    """Why some of a lead's points: the scoring rule, the points it gave (an engagement's
    decayed with time), and when the engagement was (null for an attribute of the lead)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    points: Decimal
    when: datetime | None = None


@event_type("sales", "lead", "score_changed")
class LeadScoreChanged(EventData):
    """The lead's score and every reason for it, as they are now (not a difference)."""

    score: int
    reasons: list[ScoreReason] = Field(default_factory=list)
    rescore_at: datetime | None = Field(
        None,
        description="When the score will next change as its engagement ages, if ever "
        "(the rescoring sweeper rescores the lead then)",
    )
    example = {
        "score": 35,
        "reasons": [
            {"rule": "decision maker", "points": "20", "when": None},
            {"rule": "mid-size company", "points": "15", "when": None},
        ],
        "rescore_at": None,
    }


@event_type("sales", "lead", "engaged")
class LeadEngaged(EventData):
    """The lead engaged (an interaction logged with the contact it became, a campaign
    response, a form submission), as another service's event told: counted once per
    ``source_event_id``, however often that event is delivered."""

    kind: str = Field(description="interaction_logged, campaign_response or form_submission")
    at: datetime = Field(description="When the lead engaged (its points decay from then)")
    source_event_id: UUID = Field(description="The id of the event that told of it")
    example = {
        "kind": "form_submission",
        "at": "2026-11-01T10:00:00Z",
        "source_event_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    }


@event_type("sales", "lead", "reassigned")
class LeadReassigned(ReassignedData):
    """A manager moved the lead (the rules' assignment is ``assigned``)."""

    team: str | None = Field(None, description="The lead's new team (null: unchanged)")
    example = {"owner": "bob", "department": "sales", "team": "inside-sales"}


@event_type("sales", "lead", "assigned")
class LeadAssigned(EventData):
    """The assignment rules gave the lead an owner and a team (a manager's decision is
    ``reassigned``). ``rule`` says why this team: the lead named it (``lead_team``) or a
    territory covers the lead's country or region (``territory``, ``territory`` its
    position, from 1); the team's reps then take turns (round-robin among active reps)."""

    owner: str
    team: str
    rule: str = Field(description="`territory` or `lead_team`")
    territory: int | None = Field(None, description="The covering territory's position, from 1")
    example = {"owner": "alice", "team": "emea", "rule": "territory", "territory": 1}
