"""Per-user calendar feed tokens: issued, checked, replaced.

Calendar programs subscribe to a URL and cannot send an Authorization header, so the
feed is opened by a token in its query string. Only the token's SHA-256 is stored (a
token is 32 random bytes: no slow hash is needed against guessing, and a leaked table
opens no feed). One token per user, in a schema of its own (``sales_calendar``, not the
activity list's, which a rebuild replaces): issuing a new one replaces the old, which
is how a token is revoked.

Only the user themselves or an admin issues one (``may_issue``): a token opens its user's
feed to whoever holds it, with no login, so nobody else (a manager included) should be
able to hold a working one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from psycopg import AsyncConnection

from crm_shared.auth.principal import Principal, Role

SCHEMA = "sales_calendar"
TABLE = f"{SCHEMA}.feed_tokens"

DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        user_id text PRIMARY KEY,
        token_sha256 bytea NOT NULL,
        issued_by text NOT NULL,
        issued_at timestamptz NOT NULL DEFAULT now())""",
)
# Compared against when a user has no token, so that an unknown user costs the same.
_NOBODY = hashlib.sha256(b"no token issued").digest()


def may_issue(principal: Principal, user: str) -> bool:
    """Whether ``principal`` may issue ``user``'s feed token."""
    return (principal.kind == "user" and principal.id == user) or principal.role is Role.ADMIN


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def set_up(conn: AsyncConnection[Any]) -> None:
    # Workers starting at once would race on CREATE ... IF NOT EXISTS.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('crm-setup:sales-calendar'))")
    for statement in DDL:
        await conn.execute(statement)


async def issue(conn: AsyncConnection[Any], user: str, issued_by: str) -> str:
    """A new token for ``user``'s feed; their previous one stops working."""
    token = new_token()
    await conn.execute(
        f"INSERT INTO {TABLE} (user_id, token_sha256, issued_by) VALUES (%s, %s, %s)"
        " ON CONFLICT (user_id) DO UPDATE SET token_sha256 = excluded.token_sha256,"
        " issued_by = excluded.issued_by, issued_at = now()",
        [user, digest(token), issued_by],
    )
    return token


async def opens(conn: AsyncConnection[Any], user: str, token: str | None) -> bool:
    """Whether ``token`` is ``user``'s current one."""
    cursor = await conn.execute(f"SELECT token_sha256 FROM {TABLE} WHERE user_id = %s", [user])
    row = await cursor.fetchone()
    stored = bytes(row[0]) if row else _NOBODY
    matches = hmac.compare_digest(digest(token or ""), stored)
    return matches and row is not None and token is not None
