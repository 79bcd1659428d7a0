"""Field history from the event store, which is the audit log: for every event of an
aggregate, who did it, when, in which conversation, and each field's old and new value.

Works for any aggregate with a JSON view: the view is taken before and after each event
and compared, so a new event type needs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from crm_shared.domain import Aggregate
from crm_shared.events import DomainEvent

IGNORED = frozenset({"version", "updated_at", "created_at"})


def field_changes(
    before: dict[str, Any], after: dict[str, Any], appended: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Fields whose value differs; for ``appended`` lists only the new items are shown."""
    changes = []
    for field in sorted(set(before) | set(after)):
        if field in IGNORED:
            continue
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        if field in appended and isinstance(old, list) and isinstance(new, list):
            changes.append({"field": field, "old": None, "new": new[len(old) :]})
        else:
            changes.append({"field": field, "old": old, "new": new})
    return changes


def history(
    cls: type[Aggregate],
    events: Iterable[DomainEvent],
    view: Callable[[Any], dict[str, Any]],
    appended: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Every change to one aggregate, oldest first."""
    entries = []
    aggregate = None
    before: dict[str, Any] = {}
    for event in events:
        aggregate = cls.project(aggregate, [event])
        after = view(aggregate)
        entries.append(
            {
                "version": event.originator_version,
                "type": event.data.type_name,
                "at": event.timestamp.isoformat(),
                "actor": event.metadata.actor,
                "correlation_id": event.metadata.correlation_id,
                "changes": field_changes(before, after, appended),
            }
        )
        before = after
    return entries
