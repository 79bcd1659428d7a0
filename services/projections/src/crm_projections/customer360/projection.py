"""Applies contacts events (and sales events: ``sales_tables``) to the customer-360 tables.

A batch is folded in memory: the current documents of every contact and account the
batch touches are read in one query, the events are applied in Python, and the results
are written back with one statement per table. That keeps a rebuild fast (a few round
trips per thousand events) and the read side plain SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from crm_projections.customer360 import documents
from crm_projections.customer360.documents import ACCOUNT_EVENTS, CONTACT_EVENTS, Event
from crm_projections.customer360.sales_links import SALES_EVENTS
from crm_projections.customer360.sales_tables import (
    SALES_TABLES,
    SalesTables,
    sales_ddl,
    sales_indexes,
)
from crm_shared.catalog.contacts import ContactErased
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel

if TYPE_CHECKING:
    from psycopg import AsyncConnection

# The live schema; a rebuild builds beside it (``crm_shared.messaging.rebuild``).
SCHEMA = "projections"
TABLES = ("timeline", "customers", "accounts", *SALES_TABLES)

# Indexed text is cut to this many characters (the document keeps it whole): a btree or
# GIN entry must fit in 2,704 bytes, and an event can carry longer text than the contacts
# service accepts (an owner taken from a token's subject, say). 600 characters of at most
# 4 bytes each, plus the contact id beside a display name, fit.
INDEXED_CHARS = 600


def ddl(schema: str) -> tuple[str, ...]:
    """The tables and what their upserts need (primary keys)."""
    return (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".customers (
            contact_id uuid PRIMARY KEY,
            version bigint NOT NULL,
            doc jsonb NOT NULL,
            display_name text NOT NULL,
            search text NOT NULL,
            tags text[] NOT NULL,
            owner text,
            department text,
            account_id uuid,
            archived boolean NOT NULL,
            erased boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            projected_at timestamptz NOT NULL DEFAULT clock_timestamp())""",
        f'ALTER TABLE "{schema}".customers'
        " ADD COLUMN IF NOT EXISTS erased boolean NOT NULL DEFAULT false",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".accounts (
            account_id uuid PRIMARY KEY,
            version bigint NOT NULL,
            doc jsonb NOT NULL,
            name text NOT NULL,
            department text,
            archived boolean NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".timeline (
            event_id uuid PRIMARY KEY,
            contact_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            type text NOT NULL,
            entry jsonb NOT NULL)""",
        *sales_ddl(schema),
    )


def indexes(schema: str) -> tuple[str, ...]:
    """What the queries need; the fold needs none of them (a rebuild adds them last)."""
    customers, accounts, timeline = (
        f'"{schema}".{t}' for t in ("customers", "accounts", "timeline")
    )
    return (
        f"CREATE INDEX IF NOT EXISTS customers_search_trgm ON {customers} USING gin (search gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS customers_tags ON {customers} USING gin (tags)",
        f"CREATE INDEX IF NOT EXISTS customers_owner ON {customers} (owner)",
        f"CREATE INDEX IF NOT EXISTS customers_department ON {customers} (department)",
        f"CREATE INDEX IF NOT EXISTS customers_account ON {customers} (account_id)",
        f"CREATE INDEX IF NOT EXISTS customers_name ON {customers} (display_name, contact_id)",
        f"CREATE INDEX IF NOT EXISTS customers_updated ON {customers} (updated_at, contact_id)",
        f"CREATE INDEX IF NOT EXISTS customers_created ON {customers} (created_at, contact_id)",
        f"CREATE INDEX IF NOT EXISTS accounts_name_trgm ON {accounts} USING gin (lower(name) gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS timeline_by_contact ON {timeline} (contact_id, occurred_at DESC, event_id DESC)",
        *sales_indexes(schema),
    )


# Whole batches travel as arrays, in binary format (%b): psycopg escapes every element of a
# text-format array in Python, which cost more than everything else in a rebuild.


@dataclass(frozen=True)
class Statements:
    """The fold's statements, addressing one schema."""

    customers_of: str
    accounts_of: str
    upsert_customers: str
    insert_timeline: str
    scrub_timeline: str
    upsert_accounts: str

    @classmethod
    def in_schema(cls, schema: str) -> Statements:
        customers, accounts, timeline = (
            f'"{schema}".{t}' for t in ("customers", "accounts", "timeline")
        )
        return cls(
            customers_of=f"SELECT contact_id, doc FROM {customers} WHERE contact_id = ANY(%s)",
            accounts_of=f"SELECT account_id, doc FROM {accounts} WHERE account_id = ANY(%s)",
            upsert_customers=f"""
    WITH d AS MATERIALIZED (
        SELECT id, version, doc::jsonb AS doc, display_name, search
        FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::text[], %b::text[])
            AS u(id, version, doc, display_name, search))
    INSERT INTO {customers} (contact_id, version, doc, display_name, search, tags, owner,
        department, account_id, archived, erased, created_at, updated_at)
    SELECT d.id, d.version, d.doc, d.display_name, d.search,
        ARRAY(SELECT left(t, {INDEXED_CHARS}) FROM jsonb_array_elements_text(d.doc -> 'tags') t),
        left(d.doc ->> 'owner', {INDEXED_CHARS}), left(d.doc ->> 'department', {INDEXED_CHARS}),
        (d.doc ->> 'account_id')::uuid,
        (d.doc ->> 'archived')::boolean, coalesce((d.doc ->> 'erased')::boolean, false),
        (d.doc ->> 'created_at')::timestamptz,
        (d.doc ->> 'updated_at')::timestamptz
    FROM d
    ON CONFLICT (contact_id) DO UPDATE SET version = excluded.version, doc = excluded.doc,
        display_name = excluded.display_name, search = excluded.search, tags = excluded.tags,
        owner = excluded.owner, department = excluded.department,
        account_id = excluded.account_id, archived = excluded.archived,
        erased = excluded.erased, updated_at = excluded.updated_at, projected_at = clock_timestamp()
""",
            insert_timeline=f"""
    INSERT INTO {timeline} (event_id, contact_id, occurred_at, type, entry)
    SELECT t.event_id, t.contact_id, t.occurred_at, t.type, t.entry::jsonb
    FROM unnest(%b::uuid[], %b::uuid[], %b::timestamptz[], %b::text[], %b::text[])
        AS t(event_id, contact_id, occurred_at, type, entry)
    ON CONFLICT (event_id) DO NOTHING
""",
            # Interactions logged before an erasure keep their place in the timeline, not
            # their words.
            scrub_timeline=f"""
    UPDATE {timeline} SET entry = entry #- '{{interaction,subject}}' #- '{{interaction,notes}}'
    WHERE contact_id = ANY(%s) AND entry ? 'interaction'
""",
            upsert_accounts=f"""
    WITH a AS MATERIALIZED (
        SELECT id, version, doc::jsonb AS doc
        FROM unnest(%b::uuid[], %b::bigint[], %b::text[]) AS u(id, version, doc))
    INSERT INTO {accounts} (account_id, version, doc, name, department, archived)
    SELECT a.id, a.version, a.doc, a.doc ->> 'name', a.doc ->> 'department',
        (a.doc ->> 'archived')::boolean
    FROM a
    ON CONFLICT (account_id) DO UPDATE SET version = excluded.version, doc = excluded.doc,
        name = excluded.name, department = excluded.department, archived = excluded.archived
""",
        )


# How orjson writes U+0000, which jsonb refuses (see documents.storable).
NUL_ESCAPE = "\\u0000"


def _json(value: Any) -> str:
    text = orjson.dumps(value).decode()
    if NUL_ESCAPE in text:  # rare: only old events carry NUL, so scan before walking
        text = orjson.dumps(documents.storable(value)).decode()
    return text


def _text(value: str, limit: int | None = None) -> str:
    return documents.storable_text(value)[:limit]


class Customer360Projection(ReadModel):
    name = "customer360"
    topics = (events_topic("contacts"), events_topic("sales"))
    handles = CONTACT_EVENTS + ACCOUNT_EVENTS + SALES_EVENTS
    schema = SCHEMA
    tables = TABLES

    def __init__(self, schema: str = SCHEMA, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        self.ddl = ddl(schema)
        self.indexes = indexes(schema)
        self.sql = Statements.in_schema(schema)
        self.sales = SalesTables(schema)

    async def apply(self, conn: AsyncConnection[Any], events: Sequence[Event]) -> None:
        contact_events = [e for e in events if isinstance(e.data, CONTACT_EVENTS)]
        account_events = [e for e in events if isinstance(e.data, ACCOUNT_EVENTS)]
        if len(contact_events) + len(account_events) < len(events):
            await self.sales.apply(conn, events)
        if account_events:
            await self._apply_accounts(conn, account_events)
        if contact_events:
            await self._apply_contacts(conn, contact_events)

    async def _apply_contacts(self, conn: AsyncConnection[Any], events: list[Event]) -> None:
        ids = list({e.aggregate_id for e in events})
        cur = await conn.execute(self.sql.customers_of, (ids,))
        docs: dict[UUID, dict[str, Any]] = {cid: doc for cid, doc in await cur.fetchall()}
        timeline: list[tuple[UUID, UUID, str, str, str]] = []
        for event in events:
            doc = documents.apply_contact_event(docs.get(event.aggregate_id), event)
            if doc is None:
                continue  # an event for a contact we never saw registered: nothing to show
            docs[event.aggregate_id] = doc
            entry = documents.timeline_entry(event)
            timeline.append(
                (
                    event.event_id,
                    event.aggregate_id,
                    entry["occurred_at"],
                    entry["type"],
                    _json(entry),
                )
            )
        # Whole batches go in as arrays: one statement per table, whatever the batch size.
        await conn.execute(
            self.sql.upsert_customers,
            (
                list(docs),
                [d["version"] for d in docs.values()],
                [_json(d) for d in docs.values()],
                [_text(documents.display_name(d), INDEXED_CHARS) for d in docs.values()],
                [_text(documents.search_text(d)) for d in docs.values()],
            ),
        )
        if timeline:
            columns = [list(column) for column in zip(*timeline, strict=True)]
            await conn.execute(self.sql.insert_timeline, columns)
        erased = [e.aggregate_id for e in events if isinstance(e.data, ContactErased)]
        if erased:
            await conn.execute(self.sql.scrub_timeline, (erased,))

    async def _apply_accounts(self, conn: AsyncConnection[Any], events: list[Event]) -> None:
        ids = list({e.aggregate_id for e in events})
        cur = await conn.execute(self.sql.accounts_of, (ids,))
        docs: dict[UUID, dict[str, Any]] = {aid: doc for aid, doc in await cur.fetchall()}
        for event in events:
            doc = documents.apply_account_event(docs.get(event.aggregate_id), event)
            if doc is not None:
                docs[event.aggregate_id] = doc
        await conn.execute(
            self.sql.upsert_accounts,
            (list(docs), [d["version"] for d in docs.values()], [_json(d) for d in docs.values()]),
        )
