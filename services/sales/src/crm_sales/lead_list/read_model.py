"""The lead list's table, kept by the sales service from its own lead events.

A batch is folded in memory (``rows``): the rows of the leads it touches are read in one
query, the events applied in Python, and the rows written back in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg.rows import dict_row

from crm_sales.domain.lead import LeadStatus
from crm_sales.lead_list import SCHEMA
from crm_sales.lead_list.rows import LEAD_EVENTS, LeadRow, fold_all
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel
from crm_shared.projections.rows import upsert_rows

if TYPE_CHECKING:
    from psycopg import AsyncConnection

# Sorted and indexed text is cut to this many characters: a btree entry must fit in
# 2,704 bytes, and an event may carry longer text than the API accepts.
INDEXED_CHARS = 600

COLUMNS = (
    "lead_id",
    "version",
    "status",
    "first_name",
    "last_name",
    "email",
    "job_title",
    "company_name",
    "owner",
    "team",
    "department",
    "score",
    "disqualification_reason",
    "contact_id",
    "created_at",
    "updated_at",
)


class LeadList(ReadModel):
    name = "lead_list"
    topics = (events_topic("sales"),)
    handles = LEAD_EVENTS
    schema = SCHEMA
    tables = ("leads",)

    def __init__(self, schema: str | None = None, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        leads = f'"{self.schema}".leads'
        self.ddl = (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            f"""CREATE TABLE IF NOT EXISTS {leads} (
                lead_id uuid PRIMARY KEY,
                version bigint NOT NULL,
                status text NOT NULL,
                first_name text,
                last_name text,
                email text,
                job_title text,
                company_name text,
                owner text,
                team text,
                department text NOT NULL,
                score integer NOT NULL,
                disqualification_reason text,
                contact_id uuid,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                name text NOT NULL,
                name_key text NOT NULL,
                search text NOT NULL)""",
        )
        self.indexes = (
            f"CREATE INDEX IF NOT EXISTS leads_search_trgm ON {leads}"
            " USING gin (search gin_trgm_ops)",
            f"CREATE INDEX IF NOT EXISTS leads_created ON {leads} (created_at, lead_id)",
            f"CREATE INDEX IF NOT EXISTS leads_score ON {leads} (score, lead_id)",
            f"CREATE INDEX IF NOT EXISTS leads_name ON {leads} (name_key, lead_id)",
        )
        self.select_rows = f"SELECT {', '.join(COLUMNS)} FROM {leads} WHERE lead_id = ANY(%s)"
        every = (*COLUMNS, "name", "name_key", "search")
        self.upsert = upsert_rows(leads, every, "lead_id")

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        ids = list({e.aggregate_id for e in events})
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self.select_rows, [ids])
            rows = {
                r["lead_id"]: LeadRow(**{**r, "status": LeadStatus(r["status"])})
                for r in await cur.fetchall()
            }
        touched = fold_all(rows, list(events))
        async with conn.cursor() as cur:
            await cur.executemany(self.upsert, [_values(rows[i]) for i in sorted(touched)])


def _values(row: LeadRow) -> tuple[Any, ...]:
    return (
        *(getattr(row, column) for column in COLUMNS),
        row.name,
        row.name.casefold()[:INDEXED_CHARS],
        row.search,
    )
