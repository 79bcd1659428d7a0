"""eventsourcing's PostgreSQL recorder, plus what our write path needs in the same transaction.

- Idempotency keys are inserted in the transaction that stores the command's events, so
  a retried request can never write twice, even across a crash.
- Events of many aggregates are selected in one round trip, so a batch of commands loads
  everything it needs at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

IDEMPOTENCY_TABLE = "idempotency_keys"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    aggregate_id: UUID
    version: int
    body: bytes


class CrmApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        table = SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(IDEMPOTENCY_TABLE)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} ("
                " key text PRIMARY KEY,"
                " fingerprint text NOT NULL,"
                " aggregate_id uuid NOT NULL,"
                " version bigint NOT NULL,"
                " body bytea NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            ).format(table)
        )
        self.insert_idempotency_statement = SQL(
            "INSERT INTO {0} (key, fingerprint, aggregate_id, version, body)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::uuid[], %s::bigint[], %s::bytea[])"
        ).format(table)
        self.select_idempotency_statement = SQL(
            "SELECT fingerprint, aggregate_id, version, body FROM {0} WHERE key = %s"
        ).format(table)
        self.select_many_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {0}.{1}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: Sequence[IdempotencyRecord] = (),
        **kwargs: Any,
    ) -> None:
        if idempotency:
            curs.execute(
                self.insert_idempotency_statement,
                (
                    [r.key for r in idempotency],
                    [r.fingerprint for r in idempotency],
                    [r.aggregate_id for r in idempotency],
                    [r.version for r in idempotency],
                    [r.body for r in idempotency],
                ),
            )

    def find_idempotency_record(self, key: str) -> IdempotencyRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_idempotency_statement, (key,), prepare=True)
            row = curs.fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            key=key,
            fingerprint=row["fingerprint"],
            aggregate_id=row["aggregate_id"],
            version=row["version"],
            body=bytes(row["body"]),
        )

    def select_events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = defaultdict(list)
        if not ids:
            return found
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_many_statement, (list(ids),), prepare=True)
            for row in curs.fetchall():
                found[row["originator_id"]].append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        return found
