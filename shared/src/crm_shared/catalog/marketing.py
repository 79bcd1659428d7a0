"""Events of the marketing service (topic ``crm.marketing.events``), declared ahead of the
service itself: the sales service consumes them already (engagement raises a lead's score),
so their shape is the contract marketing will publish to.

Each names the lead and/or the contact it is about (either may be left out: a form filled
in by someone not yet known names neither, and reaches no lead), and the instant it
happened, which is when its points start to decay, not when the event was recorded.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from crm_shared.events.catalog import EventData, event_type

_LEAD = "The lead it is about (the sales service's lead id), if known"
_CONTACT = "The contact it is about (the contacts service's contact id), if known"


@event_type("marketing", "campaign", "response_recorded")
class CampaignResponseRecorded(EventData):
    """Someone responded to a campaign (clicked, replied, registered). The aggregate is
    the campaign."""

    campaign_id: UUID
    lead_id: UUID | None = Field(None, description=_LEAD)
    contact_id: UUID | None = Field(None, description=_CONTACT)
    occurred_at: datetime = Field(description="When they responded")
    example = {
        "campaign_id": "0b5d3c1e-8a2f-4d6b-9e7c-1f2a3b4c5d6e",
        "lead_id": "7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a",
        "contact_id": None,
        "occurred_at": "2026-11-01T10:00:00Z",
    }


@event_type("marketing", "form", "submitted")
class FormSubmitted(EventData):
    """Someone submitted a web form. The aggregate is the form."""

    form_id: UUID
    lead_id: UUID | None = Field(None, description=_LEAD)
    contact_id: UUID | None = Field(None, description=_CONTACT)
    occurred_at: datetime = Field(description="When the form was submitted")
    example = {
        "form_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
        "lead_id": None,
        "contact_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00",
        "occurred_at": "2026-11-01T10:00:00Z",
    }
