"""The activity list's tables, kept by the sales service from its own activity events.

``activities`` holds one row per activity (what the list filters and sorts by) and
``reminders`` one per scheduled reminder (its instant, and whether it fired): the data
the reminder scheduler reads. A batch is folded in memory (``rows``): the rows of the
activities it touches are read in one query, the events applied in Python, and the rows
written back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from crm_sales.activity_list import SCHEMA
from crm_sales.activity_list.rows import ACTIVITY_EVENTS, ActivityRow, fold_all
from crm_shared.catalog.sales.activities import ActivityKind, RelatedTo
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel
from crm_shared.projections.rows import upsert_rows

if TYPE_CHECKING:
    from psycopg import AsyncConnection

COLUMNS = (
    "activity_id",
    "version",
    "kind",
    "due_at",
    "starts_at",
    "ends_at",
    "time_zone",
    "assignee",
    "related_to",
    "owner",
    "department",
    "done",
    "completed_at",
    "archived",
    "created_at",
    "updated_at",
)


class ActivityList(ReadModel):
    name = "activity_list"
    topics = (events_topic("sales"),)
    handles = ACTIVITY_EVENTS
    schema = SCHEMA
    tables = ("activities", "reminders")

    def __init__(self, schema: str | None = None, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        activities = f'"{self.schema}".activities'
        reminders = f'"{self.schema}".reminders'
        self.ddl = (
            f"""CREATE TABLE IF NOT EXISTS {activities} (
                activity_id uuid PRIMARY KEY,
                version bigint NOT NULL,
                kind text NOT NULL,
                due_at timestamptz,
                starts_at timestamptz,
                ends_at timestamptz,
                time_zone text NOT NULL,
                assignee text,
                related_to jsonb,
                related_id uuid,
                owner text,
                department text NOT NULL,
                done boolean NOT NULL,
                completed_at timestamptz,
                archived boolean NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                due timestamptz)""",
            # The scheduler's data: one row per reminder as last scheduled. ``fired_at``
            # is set when its firing is recorded on the activity (or its event arrives).
            f"""CREATE TABLE IF NOT EXISTS {reminders} (
                reminder_id text PRIMARY KEY,
                activity_id uuid NOT NULL,
                fires_at timestamptz NOT NULL,
                fired_at timestamptz)""",
        )
        self.indexes = (
            f"CREATE INDEX IF NOT EXISTS activities_due ON {activities} (due, activity_id)",
            f"CREATE INDEX IF NOT EXISTS activities_assignee ON {activities} (assignee, due)",
            f"CREATE INDEX IF NOT EXISTS activities_related ON {activities} (related_id)",
            f"CREATE INDEX IF NOT EXISTS reminders_activity ON {reminders} (activity_id)",
            f"CREATE INDEX IF NOT EXISTS reminders_unfired ON {reminders} (fires_at)"
            " WHERE fired_at IS NULL",
        )
        self.select_rows = (
            f"SELECT {', '.join(COLUMNS)} FROM {activities} WHERE activity_id = ANY(%s)"
        )
        self.select_reminders = (
            f"SELECT activity_id, reminder_id, fires_at, fired_at FROM {reminders}"
            " WHERE activity_id = ANY(%s)"
        )
        every = (*COLUMNS, "related_id", "due")
        self.upsert = upsert_rows(activities, every, "activity_id")
        self.delete_reminders = f"DELETE FROM {reminders} WHERE activity_id = ANY(%s)"
        # A mark the scheduler made before the event came back stays (the later of both).
        self.insert_reminder = (
            f"INSERT INTO {reminders} (reminder_id, activity_id, fires_at, fired_at)"
            " VALUES (%s, %s, %s, %s)"
        )

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        ids = list({e.aggregate_id for e in events})
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self.select_reminders, [ids])
            scheduled: dict[UUID, list[tuple[str, Any]]] = {}
            fired: dict[UUID, set[str]] = {}
            marked: dict[str, Any] = {}
            for r in await cur.fetchall():
                scheduled.setdefault(r["activity_id"], []).append((r["reminder_id"], r["fires_at"]))
                if r["fired_at"] is not None:
                    fired.setdefault(r["activity_id"], set()).add(r["reminder_id"])
                    marked[r["reminder_id"]] = r["fired_at"]
            await cur.execute(self.select_rows, [ids])
            rows = {
                r["activity_id"]: row_of(
                    r,
                    sorted(scheduled.get(r["activity_id"], []), key=lambda s: s[1]),
                    fired.get(r["activity_id"], set()),
                )
                for r in await cur.fetchall()
            }
        touched = sorted(fold_all(rows, list(events)))
        if not touched:
            return
        now = events[-1].time
        async with conn.cursor() as cur:
            await cur.executemany(self.upsert, [_values(rows[i]) for i in touched])
            await cur.execute(self.delete_reminders, [touched])
            await cur.executemany(
                self.insert_reminder,
                [
                    (reminder_id, i, fires_at, marked.get(reminder_id, now))
                    if reminder_id in rows[i].fired
                    else (reminder_id, i, fires_at, None)
                    for i in touched
                    for reminder_id, fires_at in rows[i].reminders
                ],
            )


def row_of(r: dict[str, Any], reminders: list[tuple[str, Any]], fired: set[str]) -> ActivityRow:
    related = r["related_to"]
    return ActivityRow(
        **{
            **{c: r[c] for c in COLUMNS},
            "kind": ActivityKind(r["kind"]),
            "related_to": RelatedTo.model_validate(related) if related is not None else None,
        },
        reminders=tuple(reminders),
        fired=frozenset(fired),
    )


def _values(row: ActivityRow) -> tuple[Any, ...]:
    values = {c: getattr(row, c) for c in COLUMNS}
    related = row.related_to
    values["kind"] = row.kind.value
    values["related_to"] = Jsonb(related.model_dump(mode="json")) if related else None
    return (*values.values(), related.id if related else None, row.due)
