"""Keyset paging over a read model's table, with opaque cursors (any service's lists).

A page ends at a row; its cursor holds that row's sort key as PostgreSQL printed it and
its id, so the next page is ``(key, id) > (cursor's key, cursor's id)`` on an index of
``(key, id)``: no offset to count past, and rows written meanwhile neither repeat nor go
missing ahead of the cursor. (The customer 360 pages the same way.)
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row


class InvalidCursor(ValueError):
    """A cursor this API did not hand out (or one for another sort)."""


def encode_cursor(key: str, last_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key, last_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, UUID]:
    """The sort key and the id a page ended at.

    A cursor comes back from the client, so it is untrusted: anything but two strings, the
    second an id, is refused here; a key that is not of the sort column's type is refused
    by PostgreSQL (``cursor_errors``).
    """
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as error:  # bad base64, not UTF-8, not JSON: all ValueErrors
        raise InvalidCursor("the cursor is not one this API returned") from error
    match values:
        case [str() as key, str() as last_id] if "\x00" not in key:
            try:
                return key, UUID(last_id)
            except ValueError:
                pass
    raise InvalidCursor("the cursor is not one this API returned")


@asynccontextmanager
async def cursor_errors(conn: AsyncConnection[Any], cursor: str | None) -> AsyncIterator[None]:
    """A forged cursor may hold a key PostgreSQL cannot read as the sort column's type (a
    score that is no number): with a cursor present, that is the client's error."""
    try:
        yield
    except psycopg.DataError as error:
        if not cursor:
            raise
        await conn.rollback()
        raise InvalidCursor("the cursor is not one this API returned") from error


def contains(text: str) -> str:
    """A ``LIKE`` pattern matching ``text`` anywhere, case-folded as search columns are."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None

    def body(self, item: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """What a list route answers: each row as ``item`` makes it, the total, the cursor."""
        return {
            "items": [item(row) for row in self.rows],
            "total": self.total,
            "next_cursor": self.next_cursor,
        }


async def keyset_page(
    conn: AsyncConnection[Any],
    table: str,
    id_column: str,
    where: Sequence[str],
    params: Sequence[Any],
    *,
    sort_column: str,
    descending: bool,
    limit: int,
    cursor: str | None,
    extra_columns: str = "",
    alias: str = "t",
    joins: str = "",
    columns: str | None = None,
) -> Page:
    """A page of ``table``'s rows matching ``where`` (each a condition on its ``alias``
    or its bare columns), ordered by ``sort_column`` then ``id_column``, after the row
    ``cursor`` names; how many match in all; and the cursor of the next page (None on the
    last). ``extra_columns`` (``, expr AS name``) adds computed columns to each row;
    ``joins`` other tables (matched and counted with it), and ``columns`` what a row
    holds (all of the table's, by default)."""
    where, params = [*where] or ["TRUE"], [*params]
    source = f"{table} {alias} {joins}".rstrip()
    count_where, count_params = " AND ".join(where), list(params)
    if cursor:
        key, last_id = decode_cursor(cursor)
        where.append(f"({sort_column}, {id_column}) {'<' if descending else '>'} (%s, %s)")
        params += [key, last_id]
    direction = "DESC" if descending else "ASC"
    async with conn.cursor(row_factory=dict_row) as cur, cursor_errors(conn, cursor):
        await cur.execute(
            f"SELECT {columns or f'{alias}.*'}, {sort_column}::text AS sort_key{extra_columns}"
            f" FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY {sort_column} {direction}, {id_column} {direction} LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
        await cur.execute(f"SELECT count(*) AS n FROM {source} WHERE {count_where}", count_params)
        total = (await cur.fetchone() or {"n": 0})["n"]
    page = rows[:limit]
    last = page[-1] if len(rows) > limit and page else None
    id_key = id_column.rsplit(".", 1)[-1]  # a row's key for ``c.contact_id`` is contact_id
    next_cursor = encode_cursor(last["sort_key"], str(last[id_key])) if last else None
    return Page(page, total, next_cursor)
