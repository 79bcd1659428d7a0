"""Request bodies of the leads routes: strict (unknown fields are errors), validated,
normalised, as the contacts API's are (``crm_shared.values``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from crm_shared.records.schemas import NewRecord
from crm_shared.values import PhoneNumber, ShortText, Strict, Text


def _lower_domain(address: str) -> str:
    # The local part may be case-sensitive (RFC 5321); the domain never is.
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


EmailAddress = Annotated[EmailStr, Text(254), AfterValidator(_lower_domain)]
CountryCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}$"), Field(description="ISO 3166-1 alpha-2")
]
Employees = Annotated[int, Field(ge=1, le=10_000_000, description="Employees")]
Team = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Utm = Annotated[str, Text(200, min_length=1, strip=True)]
Reason = Annotated[str, Text(500, min_length=1, strip=True)]


class LeadFields(Strict):
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    job_title: ShortText | None = None
    company_name: ShortText | None = None
    company_size: Employees | None = None
    industry: ShortText | None = None
    country: CountryCode | None = None
    region: ShortText | None = None
    source: ShortText | None = None
    campaign_id: UUID | None = None
    utm_source: Utm | None = None
    utm_medium: Utm | None = None
    utm_campaign: Utm | None = None
    utm_term: Utm | None = None
    utm_content: Utm | None = None
    team: Team | None = None


class RegisterLead(NewRecord, LeadFields):
    pass


class ChangeLead(LeadFields):
    """Only the fields present change; null clears a field."""


class Disqualify(Strict):
    reason: Reason = Field(description="Why the lead is not worth pursuing (required)")
