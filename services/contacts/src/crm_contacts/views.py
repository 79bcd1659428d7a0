"""What the contacts API returns: resources built from the aggregates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.record import CrmRecord
from crm_shared.values import (
    Channel,
    CompanySize,
    ConsentChannel,
    ConsentStatus,
    CustomField,
    Direction,
    Email,
    Phone,
    PostalAddress,
)


class InteractionView(BaseModel):
    id: UUID
    channel: Channel
    direction: Direction
    subject: str | None
    notes: str | None
    occurred_at: datetime
    by: str | None


class ConsentView(BaseModel):
    status: ConsentStatus
    source: str | None
    at: datetime


class RecordView(BaseModel):
    id: UUID
    version: int
    owner: str | None
    department: str
    archived: bool
    interactions: list[InteractionView]
    consents: dict[ConsentChannel, ConsentView]
    created_at: datetime
    updated_at: datetime


class ContactView(RecordView):
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
    erased: bool = False
    erased_at: datetime | None = None


class AccountView(RecordView):
    name: str
    domain: str | None
    industry: str | None
    size: CompanySize | None
    address: PostalAddress | None
    parent_account_id: UUID | None


def _record_fields(record: CrmRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "version": record.version,
        "owner": record.owner,
        "department": record.department,
        "archived": record.archived,
        "interactions": [
            InteractionView(
                id=i.interaction_id,
                channel=i.channel,
                direction=i.direction,
                subject=i.subject,
                notes=i.notes,
                occurred_at=i.occurred_at,
                by=i.by,
            )
            for i in record.interactions
        ],
        "consents": {
            c.channel: ConsentView(status=c.status, source=c.source, at=c.at)
            for c in record.consents.values()
        },
        "created_at": record.created_on,
        "updated_at": record.last_modified,
    }


def contact_view(contact: Contact) -> ContactView:
    return ContactView.model_construct(
        **_record_fields(contact),
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=contact.emails,
        phones=contact.phones,
        addresses=contact.addresses,
        birthday=contact.birthday,
        job_title=contact.job_title,
        source=contact.source,
        tags=contact.tags,
        custom_fields=contact.custom_fields,
        account_id=contact.account_id,
        erased=contact.erased_at is not None,
        erased_at=contact.erased_at,
    )


def account_view(account: Account) -> AccountView:
    return AccountView.model_construct(
        **_record_fields(account),
        name=account.name,
        domain=account.domain,
        industry=account.industry,
        size=account.size,
        address=account.address,
        parent_account_id=account.parent_account_id,
    )
