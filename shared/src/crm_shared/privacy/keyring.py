"""A service's own data keys: one per data subject, in the service's schema, wrapped.

Keys are created in the transaction that stores the first events needing them (a key can
never be lost while its ciphertext survives), and erased in the transaction that records
the erasure. An erased data subject keeps a row without key material (a tombstone), so no new
key is ever made for them. Unwrapped keys are cached for a few minutes; an erasure is
final, so "erased" is cached for good.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from cachetools import TTLCache
from psycopg import AsyncConnection
from psycopg.sql import SQL, Composed, Identifier, Literal

from crm_shared.domain import Gone
from crm_shared.master_key import KeyWrapper
from crm_shared.privacy.cipher import ERASED, Erased, new_data_key

KEYS_TABLE = "data_keys"
ACCESS_TABLE = "data_key_access"

KeyRow = tuple[UUID, bytes | None]
SyncFetch = Callable[[Sequence[UUID]], list[KeyRow]]


class DataSubjectErased(Gone):
    """The data subject was erased: nothing personal about them can be recorded again."""

    code = "erased"


def key_tables_ddl(schema: str) -> list[Composed]:
    keys = SQL("{0}.{1}").format(Identifier(schema), Identifier(KEYS_TABLE))
    access = SQL("{0}.{1}").format(Identifier(schema), Identifier(ACCESS_TABLE))
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {0} ("
            " data_subject_id uuid PRIMARY KEY,"
            " wrapped_key bytea,"  # NULL once erased: the row stays as a tombstone
            " wrapped_by text NOT NULL,"  # which master key, for rotation
            " created_at timestamptz NOT NULL DEFAULT now(),"
            " erased_at timestamptz)"
        ).format(keys),
        SQL(
            "CREATE TABLE IF NOT EXISTS {0} ("
            " id bigserial PRIMARY KEY,"
            " at timestamptz NOT NULL DEFAULT now(),"
            " actor text NOT NULL,"
            " correlation_id text,"
            " data_subjects uuid[] NOT NULL)"
        ).format(access),
        *(
            _rename_column(schema, table, old, new)
            for table, old, new in (
                (KEYS_TABLE, "subject_id", "data_subject_id"),
                (ACCESS_TABLE, "subjects", "data_subjects"),
            )
        ),
    ]


def _rename_column(schema: str, table: str, old: str, new: str) -> Composed:
    """Renames a column that tables made before the rename still have (once; a no-op after)."""
    return SQL(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.columns"
        " WHERE table_schema = {schema} AND table_name = {table} AND column_name = {old})"
        " THEN ALTER TABLE {qualified} RENAME COLUMN {old_name} TO {new_name}; END IF; END $$"
    ).format(
        schema=Literal(schema),
        table=Literal(table),
        old=Literal(old),
        qualified=SQL("{0}.{1}").format(Identifier(schema), Identifier(table)),
        old_name=Identifier(old),
        new_name=Identifier(new),
    )


@dataclass(slots=True)
class NewKeys:
    """Keys made for a batch, to be inserted with its events."""

    keys: dict[UUID, bytes] = field(default_factory=dict)
    wrapped: dict[UUID, bytes] = field(default_factory=dict)


class DataKeyring:
    def __init__(
        self,
        service: str,
        schema: str,
        wrapper: KeyWrapper,
        *,
        ttl_seconds: float = 300.0,
        max_keys: int = 20_000,  # about 5 MB: recently written people stay warm
    ) -> None:
        self.service = service
        self.wrapper = wrapper
        self._cache: TTLCache[UUID, bytes] = TTLCache(maxsize=max_keys, ttl=ttl_seconds)
        self._erased: set[UUID] = set()
        self._pending: dict[UUID, bytes] = {}
        # Reads run in worker threads, commands on the event loop: one lock for the cache.
        self._lock = threading.Lock()
        self._sync_fetch: SyncFetch | None = None
        table = SQL("{0}.{1}").format(Identifier(schema), Identifier(KEYS_TABLE))
        self.select_statement = SQL(
            "SELECT data_subject_id, wrapped_key FROM {0} WHERE data_subject_id = ANY(%s)"
        ).format(table)
        self.audited_select_statement = SQL(
            "WITH audit AS (INSERT INTO {1} (actor, correlation_id, data_subjects)"
            " VALUES (%s, %s, %s))"
            " SELECT data_subject_id, wrapped_key FROM {0} WHERE data_subject_id = ANY(%s)"
        ).format(table, SQL("{0}.{1}").format(Identifier(schema), Identifier(ACCESS_TABLE)))

    def attach(self, sync_fetch: SyncFetch) -> None:
        """How to read keys from a worker thread (the event store's connection pool)."""
        self._sync_fetch = sync_fetch

    # --- the cache -----------------------------------------------------------------------

    def _known(self, data_subject: UUID) -> bytes | Erased | None:
        if data_subject in self._erased:
            return ERASED
        return self._cache.get(data_subject)

    def _remember(self, rows: Iterable[KeyRow]) -> dict[UUID, bytes | Erased]:
        found: dict[UUID, bytes | Erased] = {}
        for data_subject, wrapped in rows:
            found[data_subject] = ERASED if wrapped is None else self.wrapper.unwrap(bytes(wrapped))
        with self._lock:
            for data_subject, key in found.items():
                if isinstance(key, Erased):
                    self._erased.add(data_subject)
                    self._cache.pop(data_subject, None)
                else:
                    self._cache[data_subject] = key
        return found

    # --- reading -------------------------------------------------------------------------

    def lookup(
        self, data_subjects: Iterable[tuple[str, UUID]]
    ) -> dict[tuple[str, UUID], bytes | Erased]:
        """Keys for sealed values of this service (from a worker thread or the loop after
        ``prefetch``). Data subjects without a key are left out."""
        wanted = {
            data_subject for service, data_subject in data_subjects if service == self.service
        }
        with self._lock:
            known = {s: k for s in wanted if (k := self._known(s)) is not None}
        missing = [s for s in wanted if s not in known]
        if missing and self._sync_fetch is not None:
            known.update(self._remember(self._sync_fetch(missing)))
        return {(self.service, s): k for s, k in known.items()}

    async def prefetch(self, conn: AsyncConnection[Any], data_subjects: Iterable[UUID]) -> None:
        with self._lock:
            missing = [s for s in data_subjects if self._known(s) is None]
        if missing:
            cursor = await conn.execute(self.select_statement, (missing,), prepare=True)
            self._remember(await cursor.fetchall())

    async def fetch_audited(
        self,
        conn: AsyncConnection[Any],
        data_subjects: list[UUID],
        *,
        actor: str,
        correlation_id: str | None,
    ) -> dict[UUID, bytes | Erased]:
        """Keys handed to a consumer outside this service; the fetch is recorded."""
        cursor = await conn.execute(
            self.audited_select_statement, (actor, correlation_id, data_subjects, data_subjects)
        )
        return self._remember(await cursor.fetchall())

    # --- writing -------------------------------------------------------------------------

    async def prepare(
        self, conn: AsyncConnection[Any], data_subjects: set[UUID], fresh: set[UUID]
    ) -> tuple[NewKeys, set[UUID]]:
        """Keys to seal a batch's events: cached, stored, or new (inserted with the batch).

        ``fresh`` data subjects are aggregates the batch creates: they cannot have a key yet.
        Returns the new keys and the data subjects that were erased.
        """
        known, lookup = self._plan(data_subjects, fresh)
        if lookup:
            cursor = await conn.execute(self.select_statement, (lookup,), prepare=True)
            known.update(self._remember(await cursor.fetchall()))
        return self._make_missing(known)

    def prepare_sync(self, data_subjects: set[UUID]) -> tuple[NewKeys, set[UUID]]:
        """``prepare`` from a worker thread, for bulk appends outside group commit."""
        known, lookup = self._plan(data_subjects, set())
        if lookup and self._sync_fetch is not None:
            known.update(self._remember(self._sync_fetch(lookup)))
        return self._make_missing(known)

    def _plan(
        self, data_subjects: set[UUID], fresh: set[UUID]
    ) -> tuple[dict[UUID, bytes | Erased | None], list[UUID]]:
        with self._lock:
            known = {s: self._known(s) for s in data_subjects}
        return known, [s for s, k in known.items() if k is None and s not in fresh]

    def _make_missing(self, known: dict[UUID, bytes | Erased | None]) -> tuple[NewKeys, set[UUID]]:
        new = NewKeys()
        for data_subject, key in known.items():
            if key is None:
                new.keys[data_subject] = data_key = new_data_key()
                new.wrapped[data_subject] = self.wrapper.wrap(data_key)
        self._pending = new.keys
        return new, {s for s, k in known.items() if isinstance(k, Erased)}

    def sealing_key(self, data_subject: UUID) -> bytes:
        key = self._pending.get(data_subject)
        if key is None:
            with self._lock:
                known = self._known(data_subject)
            if not isinstance(known, bytes):
                raise LookupError(f"no data key prepared for {data_subject}")
            key = known
        return key

    def stored(self, new: NewKeys, erased: Iterable[UUID]) -> None:
        """The batch committed: its new keys are real, its erasures final."""
        self._pending = {}
        with self._lock:
            for data_subject, key in new.keys.items():
                self._cache[data_subject] = key
            for data_subject in erased:
                self._erased.add(data_subject)
                self._cache.pop(data_subject, None)

    def forget(self, data_subject: UUID) -> None:
        """The data subject was erased (seen in an event this process read)."""
        with self._lock:
            self._erased.add(data_subject)
            self._cache.pop(data_subject, None)

    def discard(self) -> None:
        self._pending = {}
