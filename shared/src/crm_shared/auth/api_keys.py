"""API keys for other systems: issued by `crm apikey create`, shown once, stored hashed.

Keys are long random secrets, so a SHA-256 of the key is enough to store (a slow password
hash protects guessable secrets; these are not guessable). Every service checks keys
against the shared ``auth`` schema and remembers an answer for a few seconds only, so a
revoked key stops working everywhere within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import AsyncConnection

from crm_shared.auth.principal import Principal, Role

SCHEMA = "auth"
KEY_PREFIX = "crm_"
CACHE_SECONDS = 3.0
LAST_USED_EVERY_SECONDS = 60.0

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.api_keys (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    key_hash text NOT NULL UNIQUE,
    hint text NOT NULL,
    role text NOT NULL,
    departments text[] NOT NULL,
    permissions text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz
);
"""


class ApiKeyError(Exception):
    """A key cannot be created or revoked as asked."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: UUID
    name: str
    hint: str
    role: Role
    departments: tuple[str, ...]
    permissions: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def principal(self) -> Principal:
        return Principal(
            id=str(self.id),
            role=self.role,
            departments=self.departments,
            kind="api_key",
            name=self.name,
            permissions=frozenset(self.permissions),
        )


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


def _row_to_key(row: tuple[Any, ...]) -> ApiKey:
    id_, name, hint, role, departments, permissions, created, revoked, used = row
    return ApiKey(
        id_, name, hint, Role(role), tuple(departments), tuple(permissions), created, revoked, used
    )


COLUMNS = "id, name, hint, role, departments, permissions, created_at, revoked_at, last_used_at"


class ApiKeyAdmin:
    """Creating, listing and revoking keys (the CLI's side; synchronous)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def setup(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(DDL)

    def create(
        self, name: str, role: Role, departments: list[str], permissions: list[str]
    ) -> tuple[ApiKey, str]:
        """The new key's record, and the key itself (shown once, never stored)."""
        self.setup()
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            with psycopg.connect(self.database_url) as conn:
                row = conn.execute(
                    f"INSERT INTO {SCHEMA}.api_keys (id, name, key_hash, hint, role, departments,"
                    f" permissions) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
                    (
                        uuid4(),
                        name,
                        hash_key(key),
                        key[:8] + "…",
                        role.value,
                        departments,
                        permissions,
                    ),
                ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise ApiKeyError(f"an API key named {name!r} exists already") from None
        assert row is not None
        return _row_to_key(tuple(row)), key

    def list(self) -> list[ApiKey]:
        self.setup()
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM {SCHEMA}.api_keys ORDER BY created_at"
            ).fetchall()
        return [_row_to_key(tuple(r)) for r in rows]

    def revoke(self, name: str) -> ApiKey:
        self.setup()
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                f"UPDATE {SCHEMA}.api_keys SET revoked_at = coalesce(revoked_at, now())"
                f" WHERE name = %s RETURNING {COLUMNS}",
                (name,),
            ).fetchone()
        if row is None:
            raise ApiKeyError(f"no API key named {name!r}")
        return _row_to_key(tuple(row))


class ApiKeyVerifier:
    """Checks presented keys (the services' side; asynchronous, briefly cached)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._conn: AsyncConnection[Any] | None = None
        self._cache: dict[str, tuple[ApiKey | None, float]] = {}
        self._last_used_written: dict[UUID, float] = {}

    async def _connection(self) -> AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await AsyncConnection.connect(self.database_url, autocommit=True)
            await self._conn.execute(DDL)
        return self._conn

    async def verify(self, key: str) -> Principal | None:
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            found = cached[0]
        else:
            found = await self._lookup(digest)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (found, now)
        if found is None or found.revoked_at is not None:
            return None
        await self._note_use(found, now)
        return found.principal()

    async def _lookup(self, digest: str) -> ApiKey | None:
        conn = await self._connection()
        cursor = await conn.execute(
            f"SELECT {COLUMNS} FROM {SCHEMA}.api_keys WHERE key_hash = %s",
            (digest,),
        )
        row = await cursor.fetchone()
        return _row_to_key(tuple(row)) if row else None

    async def _note_use(self, key: ApiKey, now: float) -> None:
        # Last use is kept to the minute: one write per key per minute, not per request.
        if (
            now - self._last_used_written.get(key.id, -LAST_USED_EVERY_SECONDS)
            < LAST_USED_EVERY_SECONDS
        ):
            return
        self._last_used_written[key.id] = now
        conn = await self._connection()
        await conn.execute(
            f"UPDATE {SCHEMA}.api_keys SET last_used_at = now() WHERE id = %s",
            (key.id,),
        )

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
