"""The contacts service's records a specification says the sales service knows of: rows of
its read model of them (``crm_sales.contact_records``), judged as the live resolver
judges the rows it reads."""

from __future__ import annotations

from uuid import UUID

from crm_sales.contact_records.resolver import located
from crm_sales.contact_records.rows import ContactRecord, RecordKind
from crm_shared.auth.policy import Reference, Referenced


class KnownContactRecords:
    def __init__(self, *rows: ContactRecord) -> None:
        self.rows = {row.record_id: row for row in rows}

    async def locate(self, reference: Reference) -> Referenced | None:
        return located(self.rows.get(reference.target), reference)


def contact(record_id: UUID, department: str = "sales", **state: bool) -> ContactRecord:
    return ContactRecord(record_id, RecordKind.CONTACT, department, **state)


def account(record_id: UUID, department: str = "sales", **state: bool) -> ContactRecord:
    return ContactRecord(record_id, RecordKind.ACCOUNT, department, **state)


# For the specifications whose deals and activities name no contact and no account.
NONE_KNOWN = KnownContactRecords()
