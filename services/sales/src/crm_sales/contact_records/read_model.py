"""The contact records' table: one row per contact or account of the contacts service.

A batch is folded in memory (``rows``): the rows of the records it touches are read in
one query, the events applied in Python, and the rows written back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crm_sales.contact_records import SCHEMA
from crm_sales.contact_records.rows import (
    CONTACT_RECORD_EVENTS,
    ContactRecord,
    RecordKind,
    fold,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel
from crm_shared.projections.rows import fold_batch

if TYPE_CHECKING:
    from psycopg import AsyncConnection

COLUMNS = ("record_id", "kind", "department", "archived", "erased")


class ContactRecords(ReadModel):
    name = "contact_records"
    topics = (events_topic("contacts"),)
    handles = CONTACT_RECORD_EVENTS
    schema = SCHEMA
    tables = ("records",)
    # It keeps no personal field: it needs no person's key to read a registration.
    opens_personal_data = False

    def __init__(self, schema: str | None = None, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        records = f'"{self.schema}".records'
        self.ddl = (
            f"""CREATE TABLE IF NOT EXISTS {records} (
                record_id uuid PRIMARY KEY,
                kind text NOT NULL,
                department text NOT NULL,
                archived boolean NOT NULL,
                erased boolean NOT NULL)""",
        )
        self.select_rows = f"SELECT {', '.join(COLUMNS)} FROM {records} WHERE record_id = ANY(%s)"
        self.upsert = (
            f"INSERT INTO {records} ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join(['%s'] * len(COLUMNS))})"
            " ON CONFLICT (record_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "record_id")
        )
        self.select_one = f"SELECT {', '.join(COLUMNS[1:])} FROM {records} WHERE record_id = %s"

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        ids = list({e.aggregate_id for e in events})
        async with conn.cursor() as cur:
            await cur.execute(self.select_rows, [ids])
            rows = {
                record_id: ContactRecord(record_id, RecordKind(kind), department, archived, erased)
                for record_id, kind, department, archived, erased in await cur.fetchall()
            }
        touched = sorted(fold_batch(rows, events, fold))
        if not touched:
            return
        async with conn.cursor() as cur:
            await cur.executemany(
                self.upsert,
                [
                    (r.record_id, r.kind.value, r.department, r.archived, r.erased)
                    for r in (rows[i] for i in touched)
                ],
            )
