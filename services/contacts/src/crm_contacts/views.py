"""What the contacts API returns: each kind of record's view, filled in from the aggregate
by ``RecordView.of``."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from crm_shared.records.views import RecordView
from crm_shared.values import CompanySize, CustomField, Email, Phone, PostalAddress


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
