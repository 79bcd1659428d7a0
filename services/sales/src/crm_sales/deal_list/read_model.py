"""The deal list's table, kept by the sales service from its own opportunity events.

A batch is folded in memory (``rows``): the rows of the deals it touches are read in one
query, the events applied in Python, and the rows written back in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg.rows import dict_row

from crm_sales.deal_list import SCHEMA
from crm_sales.deal_list.rows import DEAL_EVENTS, DealRow, fold_all
from crm_sales.domain.opportunity_states import DealStatus
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
    "opportunity_id",
    "version",
    "name",
    "account_id",
    "primary_contact_id",
    "role_contact_ids",
    "owner",
    "team",
    "department",
    "pipeline_id",
    "pipeline",
    "stage",
    "status",
    "amount",
    "currency",
    "probability",
    "forecast_category",
    "close_date",
    "created_at",
    "updated_at",
)


class DealList(ReadModel):
    name = "deal_list"
    topics = (events_topic("sales"),)
    handles = DEAL_EVENTS
    schema = SCHEMA
    tables = ("deals",)

    def __init__(self, schema: str | None = None, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        deals = f'"{self.schema}".deals'
        self.ddl = (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            f"""CREATE TABLE IF NOT EXISTS {deals} (
                opportunity_id uuid PRIMARY KEY,
                version bigint NOT NULL,
                name text NOT NULL,
                account_id uuid,
                primary_contact_id uuid,
                role_contact_ids uuid[] NOT NULL,
                owner text,
                team text,
                department text NOT NULL,
                pipeline_id uuid NOT NULL,
                pipeline text NOT NULL,
                stage text NOT NULL,
                status text NOT NULL,
                amount numeric NOT NULL,
                currency text NOT NULL,
                probability integer NOT NULL,
                forecast_category text NOT NULL,
                close_date date NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                name_key text NOT NULL,
                contact_ids uuid[] NOT NULL)""",
        )
        self.indexes = (
            f"CREATE INDEX IF NOT EXISTS deals_name_trgm ON {deals}"
            " USING gin (name_key gin_trgm_ops)",
            f"CREATE INDEX IF NOT EXISTS deals_contacts ON {deals} USING gin (contact_ids)",
            f"CREATE INDEX IF NOT EXISTS deals_account ON {deals} (account_id)",
            f"CREATE INDEX IF NOT EXISTS deals_close ON {deals} (close_date, opportunity_id)",
            f"CREATE INDEX IF NOT EXISTS deals_amount ON {deals} (amount, opportunity_id)",
            f"CREATE INDEX IF NOT EXISTS deals_updated ON {deals} (updated_at, opportunity_id)",
            f"CREATE INDEX IF NOT EXISTS deals_name ON {deals} (name_key, opportunity_id)",
        )
        self.select_rows = (
            f"SELECT {', '.join(COLUMNS)} FROM {deals} WHERE opportunity_id = ANY(%s)"
        )
        every = (*COLUMNS, "name_key", "contact_ids")
        self.upsert = upsert_rows(deals, every, "opportunity_id")

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        ids = list({e.aggregate_id for e in events})
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self.select_rows, [ids])
            rows = {r["opportunity_id"]: row_of(r) for r in await cur.fetchall()}
        touched = fold_all(rows, list(events))
        if not touched:
            return
        async with conn.cursor() as cur:
            await cur.executemany(self.upsert, [_values(rows[i]) for i in sorted(touched)])


def row_of(r: dict[str, Any]) -> DealRow:
    return DealRow(
        **{
            **{c: r[c] for c in COLUMNS},
            "role_contact_ids": tuple(r["role_contact_ids"]),
            "status": DealStatus(r["status"]),
        }
    )


def _values(row: DealRow) -> tuple[Any, ...]:
    values = {c: getattr(row, c) for c in COLUMNS}
    values["role_contact_ids"] = list(row.role_contact_ids)
    values["status"] = row.status.value
    return (*values.values(), row.name.casefold()[:INDEXED_CHARS], list(row.contact_ids))
