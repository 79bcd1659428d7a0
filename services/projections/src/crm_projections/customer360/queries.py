"""The read side of the customer 360: plain SQL, no domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from crm_projections.customer360.projection import SCHEMA
from crm_projections.customer360.sales_queries import sales_of
from crm_shared.projections.paging import (
    contains,
    cursor_errors,
    decode_cursor,
    encode_cursor,
    keyset_page,
)

TIMELINE_PREVIEW = 20


class Sort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED = "updated_at"
    UPDATED_DESC = "-updated_at"


SORT_COLUMNS = {"name": "display_name", "created_at": "created_at", "updated_at": "updated_at"}


@dataclass(frozen=True)
class SearchFilters:
    q: str | None = None
    tag: str | None = None
    owner: str | None = None
    account_id: UUID | None = None
    include_archived: bool = False
    # The caller's reach (crm_shared.auth.policy.readable_departments); None: everything.
    departments: tuple[str, ...] | None = ()


def _sees(departments: tuple[str, ...] | None, department: str | None) -> bool:
    """The read rule of the policy, for records already fetched: `departments` is
    crm_shared.auth.policy.readable_departments (None: everything)."""
    return departments is None or department in departments


def _account_summary(
    row: dict[str, Any], departments: tuple[str, ...] | None
) -> dict[str, Any] | None:
    if row.get("account_doc") is None:
        return None
    doc = row["account_doc"]
    # The account may be in another department (linked by someone who saw both, or moved
    # since): the caller learns that there is one, not what it is.
    if not _sees(departments, doc.get("department")):
        return {"id": doc.get("id"), "visible": False}
    summary = {k: doc.get(k) for k in ("id", "name", "domain", "industry", "size", "archived")}
    return summary | {"visible": True}


def _summary(row: dict[str, Any], departments: tuple[str, ...] | None) -> dict[str, Any]:
    doc = row["doc"]
    profile = doc["profile"]
    return {
        "id": doc["id"],
        "version": doc["version"],
        "display_name": row["display_name"],
        "emails": [e["address"] for e in profile.get("emails") or []],
        "phones": [p["number"] for p in profile.get("phones") or []],
        "job_title": profile.get("job_title"),
        "account": _account_summary(row, departments),
        "tags": doc.get("tags") or [],
        "owner": doc.get("owner"),
        "department": doc.get("department"),
        "archived": doc["archived"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
    }


async def search(
    conn: AsyncConnection[Any], filters: SearchFilters, sort: Sort, limit: int, cursor: str | None
) -> dict[str, Any]:
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if filters.departments is not None:
        where.append("c.department = ANY(%s)")
        params.append(list(filters.departments))
    if not filters.include_archived:
        where.append("NOT c.archived")
    where.append("NOT c.erased")  # an erased person is nobody to search for
    if filters.q:
        pattern = contains(filters.q)
        # The account's name finds the contact only for a caller who may see the account.
        account_reach, reach_params = _reach(filters.departments, "a")
        where.append(f"(c.search LIKE %s OR (lower(a.name) LIKE %s{account_reach}))")
        params += [pattern, pattern, *reach_params]
    if filters.tag:
        where.append("c.tags @> ARRAY[%s]")
        params.append(filters.tag.lower())
    if filters.owner:
        where.append("c.owner = %s")
        params.append(filters.owner)
    if filters.account_id:
        where.append("c.account_id = %s")
        params.append(filters.account_id)
    page = await keyset_page(
        conn,
        f"{SCHEMA}.customers",
        "c.contact_id",
        where,
        params,
        sort_column=f"c.{SORT_COLUMNS[sort.value.lstrip('-')]}",
        descending=sort.value.startswith("-"),
        limit=limit,
        cursor=cursor,
        alias="c",
        joins=f"LEFT JOIN {SCHEMA}.accounts a ON a.account_id = c.account_id",
        columns="c.doc, c.display_name, c.contact_id, a.doc AS account_doc",
    )
    return page.body(lambda row: _summary(row, filters.departments))


def _reach(departments: tuple[str, ...] | None, table: str = "c") -> tuple[str, list[Any]]:
    if departments is None:
        return "", []
    return f" AND {table}.department = ANY(%s)", [list(departments)]


async def customer(
    conn: AsyncConnection[Any], contact_id: UUID, departments: tuple[str, ...] | None
) -> dict[str, Any] | None:
    """The 360 document, or None if it does not exist or is out of the caller's reach."""
    reach, params = _reach(departments)
    if not conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        # One snapshot for the document, its timeline and its sales: a deal won between
        # two of the reads is never shown both open and won.
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT c.doc, c.display_name, a.doc AS account_doc FROM {SCHEMA}.customers c"
            f" LEFT JOIN {SCHEMA}.accounts a ON a.account_id = c.account_id"
            f" WHERE c.contact_id = %s{reach}",
            [contact_id, *params],
        )
        row = await cur.fetchone()
    if row is None:
        return None
    doc = row["doc"]
    page = await timeline(conn, contact_id, TIMELINE_PREVIEW, None)
    sales = await sales_of(conn, contact_id, departments)
    return {
        "id": doc["id"],
        "version": doc["version"],
        "display_name": row["display_name"],
        "profile": doc["profile"],
        "account": _account_summary(row, departments),
        "consents": doc["consents"],
        "tags": doc.get("tags") or [],
        "owner": doc.get("owner"),
        "department": doc.get("department"),
        "archived": doc["archived"],
        "erased": doc.get("erased", False),
        "erased_at": doc.get("erased_at"),
        "interactions": doc["interactions"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "timeline": page["items"],
        "timeline_next_cursor": page["next_cursor"],
        "sales": sales,
    }


async def exists(
    conn: AsyncConnection[Any], contact_id: UUID, departments: tuple[str, ...] | None
) -> bool:
    reach, params = _reach(departments)
    cur = await conn.execute(
        f"SELECT 1 FROM {SCHEMA}.customers c WHERE c.contact_id = %s{reach}",
        [contact_id, *params],
    )
    return await cur.fetchone() is not None


async def timeline(
    conn: AsyncConnection[Any], contact_id: UUID, limit: int, cursor: str | None
) -> dict[str, Any]:
    where: list[str] = ["contact_id = %s"]
    params: list[Any] = [contact_id]
    if cursor:
        occurred, event_id = decode_cursor(cursor)
        where.append("(occurred_at, event_id) < (%s::timestamptz, %s::uuid)")
        params += [occurred, event_id]
    async with conn.cursor(row_factory=dict_row) as cur, cursor_errors(conn, cursor):
        await cur.execute(
            f"SELECT entry, occurred_at::text AS k, event_id::text AS e FROM {SCHEMA}.timeline"
            f" WHERE {' AND '.join(where)} ORDER BY occurred_at DESC, event_id DESC LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1]["k"], page[-1]["e"]) if len(rows) > limit and page else None
    )
    return {"items": [r["entry"] for r in page], "next_cursor": next_cursor}
