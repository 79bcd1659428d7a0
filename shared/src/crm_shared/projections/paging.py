"""Keyset paging over a read model's table, with opaque cursors (any service's lists).

A page ends at a row; its cursor holds that row's sort key as PostgreSQL printed it and
its id, so the next page is ``(key, id) > (cursor's key, cursor's id)`` on an index of
``(key, id)``: no offset to count past, and rows written meanwhile neither repeat nor go
missing ahead of the cursor. (The customer 360 pages the same way.)
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import AsyncConnection


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
