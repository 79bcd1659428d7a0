"""The 360's sales tables (beside the customers, in the 360's schema) and a batch of sales
events applied to them: the rows a batch touches read in one query per table, folded in
Python (``sales_links``), written back in one statement per table. A deal event does not
rewrite the customer's document: the 360 joins the rows when it is read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from crm_projections.customer360.sales_links import (
    ACTIVITY_EVENTS,
    DEAL_EVENTS,
    ActivityRow,
    DealRow,
    Event,
    LeadLink,
    fold_activity,
    fold_deal,
    lead_link,
)
from crm_shared.catalog.sales.leads import LeadConverted

if TYPE_CHECKING:
    from psycopg import AsyncConnection

SALES_TABLES = ("customer_leads", "customer_deals", "customer_activities")

R = TypeVar("R", DealRow, ActivityRow)


def sales_ddl(schema: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE IF NOT EXISTS "{schema}".customer_leads (
            lead_id uuid PRIMARY KEY,
            contact_id uuid NOT NULL,
            account_id uuid,
            opportunity_id uuid,
            converted_at timestamptz NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".customer_deals (
            opportunity_id uuid PRIMARY KEY,
            version bigint NOT NULL,
            contact_id uuid,
            name text NOT NULL,
            stage text NOT NULL,
            status text NOT NULL,
            amount numeric NOT NULL,
            currency text NOT NULL,
            close_date date NOT NULL,
            department text NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".customer_activities (
            activity_id uuid PRIMARY KEY,
            version bigint NOT NULL,
            contact_id uuid,
            kind text NOT NULL,
            due_at timestamptz,
            starts_at timestamptz,
            assignee text,
            done boolean NOT NULL,
            archived boolean NOT NULL,
            department text NOT NULL)""",
    )


def sales_indexes(schema: str) -> tuple[str, ...]:
    return (
        f'CREATE INDEX IF NOT EXISTS customer_leads_contact ON "{schema}".customer_leads'
        " (contact_id)",
        f'CREATE INDEX IF NOT EXISTS customer_deals_contact ON "{schema}".customer_deals'
        " (contact_id, status)",
        f"CREATE INDEX IF NOT EXISTS customer_activities_contact"
        f' ON "{schema}".customer_activities (contact_id) WHERE NOT done AND NOT archived',
    )


def _upsert(table: str, key: str, columns: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


class SalesTables:
    """The statements addressing one schema, and how a batch is applied."""

    def __init__(self, schema: str) -> None:
        leads, deals, activities = (f'"{schema}".{t}' for t in SALES_TABLES)
        self.deal_columns = [f.name for f in fields(DealRow)]
        self.activity_columns = [f.name for f in fields(ActivityRow)]
        self.insert_leads = (
            f"INSERT INTO {leads} (lead_id, contact_id, account_id, opportunity_id,"
            " converted_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (lead_id) DO NOTHING"
        )
        self.deals_of = f"SELECT * FROM {deals} WHERE opportunity_id = ANY(%s)"
        self.upsert_deals = _upsert(deals, "opportunity_id", self.deal_columns)
        self.activities_of = f"SELECT * FROM {activities} WHERE activity_id = ANY(%s)"
        self.upsert_activities = _upsert(activities, "activity_id", self.activity_columns)

    async def apply(self, conn: AsyncConnection[Any], events: Sequence[Event]) -> None:
        links = [lead_link(e) for e in events if isinstance(e.data, LeadConverted)]  # type: ignore[arg-type]
        deals = [e for e in events if isinstance(e.data, DEAL_EVENTS)]
        activities = [e for e in events if isinstance(e.data, ACTIVITY_EVENTS)]
        async with conn.cursor() as cur:
            if links:
                await cur.executemany(self.insert_leads, [_lead_values(link) for link in links])
        if deals:
            await self._fold(
                conn, deals, self.deals_of, self.upsert_deals, DealRow, self.deal_columns, fold_deal
            )
        if activities:
            await self._fold(
                conn,
                activities,
                self.activities_of,
                self.upsert_activities,
                ActivityRow,
                self.activity_columns,
                fold_activity,
            )

    async def _fold(
        self,
        conn: AsyncConnection[Any],
        events: list[Event],
        select: str,
        upsert: str,
        row_type: type[R],
        columns: Sequence[str],
        fold: Callable[[R | None, Event], R | None],
    ) -> None:
        from psycopg.rows import dict_row  # here: `crm projections --help` needs no driver

        ids = list({e.aggregate_id for e in events})
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(select, [ids])
            # A row's first column is its id.
            rows: dict[UUID, R] = {
                found[columns[0]]: row_type(**found) for found in await cur.fetchall()
            }
        touched: set[UUID] = set()
        for event in events:
            folded = fold(rows.get(event.aggregate_id), event)
            if folded is not None and folded is not rows.get(event.aggregate_id):
                rows[event.aggregate_id] = folded
                touched.add(event.aggregate_id)
        if touched:
            async with conn.cursor() as cur:
                await cur.executemany(
                    upsert, [tuple(getattr(rows[i], c) for c in columns) for i in sorted(touched)]
                )


def _lead_values(link: LeadLink) -> tuple[Any, ...]:
    return (link.lead_id, link.contact_id, link.account_id, link.opportunity_id, link.converted_at)
