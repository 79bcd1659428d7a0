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
