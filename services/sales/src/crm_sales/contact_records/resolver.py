"""Where the sales service finds the record a reference names: its own records (a
pipeline, a lead, a deal) in its event store, the contacts service's (a contact, an
account) in its read model of them (``ContactRecords``). The policy then judges the
reference (``crm_shared.auth.policy.vet_references``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm_sales.contact_records.read_model import ContactRecords
from crm_sales.contact_records.rows import ContactRecord, RecordKind
from crm_shared.auth.policy import Reference, Referenced, ReferenceResolver, Scope

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

CONTACTS_KINDS = frozenset(kind.value for kind in RecordKind)


def located(row: ContactRecord | None, reference: Reference) -> Referenced | None:
    """What the policy needs to know of the record ``reference`` names, from its row: None
    where there is none, where the id is another kind of record's, or where the person was
    erased (no reference may name them any more)."""
    if row is None or row.kind != reference.kind or row.erased:
        return None
    # The policy reads a referenced record by its department alone (``Action.READ``), so
    # the row keeps no owner.
    return Referenced(Scope(owner=None, department=row.department), archived=row.archived)


class ContactRecordsInReadModel:
    """A ``ReferenceResolver`` over the read model, through the service's query pool
    (``pool``: it is opened once the app starts, after the use cases are built)."""

    def __init__(self, pool: Callable[[], AsyncConnectionPool], read_model: ContactRecords) -> None:
        self.pool = pool
        self.read_model = read_model

    async def locate(self, reference: Reference) -> Referenced | None:
        async with self.pool().connection() as conn:
            cursor = await conn.execute(self.read_model.select_one, [reference.target])
            row = await cursor.fetchone()
        if row is None:
            return None
        kind, department, archived, erased = row
        record = ContactRecord(reference.target, RecordKind(kind), department, archived, erased)
        return located(record, reference)


class NoContactRecords:
    """Knows no contact and no account: every reference to one is refused as unknown (an
    application built without the read model fails closed, never open)."""

    async def locate(self, reference: Reference) -> Referenced | None:
        return None


class AcrossServices:
    """Sends a reference to the contacts service's records to ``contacts``, any other to
    ``own``."""

    def __init__(self, own: ReferenceResolver, contacts: ReferenceResolver) -> None:
        self.own = own
        self.contacts = contacts

    async def locate(self, reference: Reference) -> Referenced | None:
        if reference.kind in CONTACTS_KINDS:
            return await self.contacts.locate(reference)
        return await self.own.locate(reference)
