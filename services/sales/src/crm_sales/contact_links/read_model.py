"""The links' tables, and the erasure of a lead whose contact was erased.

A batch stores what it tells (conversions, erasures), then erases, for every contact
erased in it, what the sales service sealed under the contact's id (``SubjectEraser``:
activities' texts, quotes' customer names), and every lead it makes erasable: a lead converted into a contact erased in this batch or before, or converted in
this batch into a contact erased before. Erasing goes through the service's own commands
(``Eraser``), in their own transaction: if the batch then fails, it is applied again and
erases again, which records nothing the second time (``Lead.erase``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from crm_sales.contact_links import SCHEMA
from crm_sales.contact_links.links import batch_of
from crm_shared.catalog.contacts import ContactErased
from crm_shared.catalog.sales.leads import LeadConverted
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel

if TYPE_CHECKING:
    from psycopg import AsyncConnection

log = logging.getLogger(__name__)

# Erases a lead (its id) whose person was erased as a contact (its id).
Eraser = Callable[[UUID, UUID], Awaitable[None]]
# Erases what the service sealed under an erased contact's id.
SubjectEraser = Callable[[UUID], Awaitable[None]]


class ContactLinks(ReadModel):
    name = "contact_links"
    topics = (events_topic("sales"), events_topic("contacts"))
    handles = (LeadConverted, ContactErased)
    schema = SCHEMA
    tables = ("converted_leads", "erased_contacts")

    def __init__(
        self,
        schema: str | None = None,
        *,
        indexed: bool = True,
        eraser: Eraser | None = None,
        subject_eraser: SubjectEraser | None = None,
    ) -> None:
        super().__init__(schema, indexed=indexed)
        self.eraser = eraser
        self.subject_eraser = subject_eraser
        converted, erased = f'"{self.schema}".converted_leads', f'"{self.schema}".erased_contacts'
        self.ddl = (
            f"CREATE TABLE IF NOT EXISTS {converted} ("
            " lead_id uuid PRIMARY KEY, contact_id uuid NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {erased} (contact_id uuid PRIMARY KEY)",
        )
        self.indexes = (
            f"CREATE INDEX IF NOT EXISTS converted_leads_contact ON {converted} (contact_id)",
        )
        self.insert_converted = (
            f"INSERT INTO {converted} (lead_id, contact_id) VALUES (%s, %s)"
            " ON CONFLICT (lead_id) DO NOTHING"
        )
        self.insert_erased = f"INSERT INTO {erased} (contact_id) VALUES (%s) ON CONFLICT DO NOTHING"
        self.select_erasable = (
            f"SELECT l.lead_id, l.contact_id FROM {converted} l JOIN {erased} e"
            " USING (contact_id) WHERE l.lead_id = ANY(%s) OR l.contact_id = ANY(%s)"
        )

    def in_schema(self, schema: str, *, indexed: bool = True) -> Self:
        return type(self)(
            schema, indexed=indexed, eraser=self.eraser, subject_eraser=self.subject_eraser
        )

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        batch = batch_of(events)
        async with conn.cursor() as cur:
            if batch.converted:
                await cur.executemany(self.insert_converted, list(batch.converted.items()))
            if batch.erased:
                await cur.executemany(self.insert_erased, [(c,) for c in batch.erased])
            await cur.execute(self.select_erasable, [list(batch.converted), list(batch.erased)])
            erasable = sorted(await cur.fetchall())
        for contact_id in sorted(batch.erased):
            if self.subject_eraser is None:  # a copy built without the service (a rebuild)
                log.warning(
                    "contact %s's data in sales is to be erased; no eraser here", contact_id
                )
                continue
            await self.subject_eraser(contact_id)
        for lead_id, contact_id in erasable:
            if self.eraser is None:  # a copy built without the service (a rebuild)
                log.warning("lead %s is to be erased; no eraser here", lead_id)
                continue
            await self.eraser(lead_id, contact_id)
