"""Request bodies: strict (unknown fields are errors), validated, normalised.

Every string is a ``Text`` and every instant an ``Instant`` (``crm_shared.values``): what
a request may carry is what every store can hold, so the read models never refuse an
accepted change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# The bodies every CRM record's routes take, as the contacts API's own.
from crm_shared.records.schemas import (
    Archive,
    LogInteraction,
    NewRecord,
    Reassign,
    SetConsent,
)
from crm_shared.values import (
    CompanySize,
    CustomField,
    Email,
    Key,
    Phone,
    PostalAddress,
    ShortText,
    Strict,
    Tag,
)

Tags = Annotated[list[Tag], Field(max_length=100), AfterValidator(lambda t: list(dict.fromkeys(t)))]
CustomFields = Annotated[dict[Key, CustomField], Field(max_length=100)]
Domain = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(
        max_length=253, pattern=r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
    ),
]


def _not_in_future(value: date | None) -> date | None:
    if value is not None and value > datetime.now(UTC).date():
        raise ValueError("birthday cannot be in the future")
    return value


Birthday = Annotated[date | None, AfterValidator(_not_in_future)]


class ContactFields(Strict):
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    emails: Annotated[list[Email], Field(max_length=20)] = []
    phones: Annotated[list[Phone], Field(max_length=20)] = []
    addresses: Annotated[list[PostalAddress], Field(max_length=10)] = []
    birthday: Birthday = None
    job_title: ShortText | None = None
    source: ShortText | None = None
    tags: Tags = []
    custom_fields: CustomFields = {}
    account_id: UUID | None = None


class RegisterContact(NewRecord, ContactFields):
    pass


class UpdateContact(Strict):
    """Only the fields present change; null clears a field."""

    first_name: ShortText | None = None
    last_name: ShortText | None = None
    emails: Annotated[list[Email], Field(max_length=20)] | None = None
    phones: Annotated[list[Phone], Field(max_length=20)] | None = None
    addresses: Annotated[list[PostalAddress], Field(max_length=10)] | None = None
    birthday: Birthday = None
    job_title: ShortText | None = None
    source: ShortText | None = None
    tags: Tags | None = None
    custom_fields: CustomFields | None = None
    account_id: UUID | None = None


class AccountFields(Strict):
    name: ShortText
    domain: Domain | None = None
    industry: ShortText | None = None
    size: CompanySize | None = None
    address: PostalAddress | None = None
    parent_account_id: UUID | None = None


class CreateAccount(NewRecord, AccountFields):
    pass


class UpdateAccount(Strict):
    name: ShortText | None = None
    domain: Domain | None = None
    industry: ShortText | None = None
    size: CompanySize | None = None
    address: PostalAddress | None = None
    parent_account_id: UUID | None = None


__all__ = [
    "Archive",
    "CreateAccount",
    "LogInteraction",
    "Reassign",
    "RegisterContact",
    "SetConsent",
    "UpdateAccount",
    "UpdateContact",
]
