"""Folding a batch of events into rows kept in memory, one per aggregate: what a read
model whose fold is pure functions over ``ReceivedEvent`` (a list's rows) does per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar
from uuid import UUID

from crm_shared.events import EventData, ReceivedEvent

Row = TypeVar("Row")


def fold_batch(
    rows: dict[UUID, Row],
    events: Iterable[ReceivedEvent[EventData]],
    fold: Callable[[Row | None, ReceivedEvent[EventData]], Row | None],
) -> set[UUID]:
    """Folds the events into ``rows`` in place; the aggregates whose row changed."""
    touched: set[UUID] = set()
    for event in events:
        row = fold(rows.get(event.aggregate_id), event)
        if row is not None:
            rows[event.aggregate_id] = row
            touched.add(event.aggregate_id)
    return touched


def upsert_rows(table: str, columns: Iterable[str], key: str) -> str:
    """The statement that writes a folded row of ``table`` whole: inserted, or every column
    but its key and ``created_at`` (set once, when the row was first written) replaced."""
    every = list(columns)
    kept = (key, "created_at")
    return (
        f"INSERT INTO {table} ({', '.join(every)}) VALUES ({', '.join(['%s'] * len(every))})"
        f" ON CONFLICT ({key}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in every if c not in kept)
    )
