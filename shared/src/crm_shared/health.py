"""Readiness checks: does the database answer, does the broker answer, each within seconds.

Both bound their own waiting as well as the probe's (see ``crm_shared.http.readiness``), so
a stalled dependency costs a probe a second or two, not a hung connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient
from psycopg import AsyncConnection

TIMEOUT_SECONDS = 2


def database_check(database_url: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with await AsyncConnection.connect(
            database_url,
            connect_timeout=TIMEOUT_SECONDS,
            # A server that is up but stuck (locks, overload) ends the query itself.
            options=f"-c statement_timeout={TIMEOUT_SECONDS * 1000}",
            autocommit=True,
        ) as conn:
            await conn.execute("SELECT 1")

    return check


def broker_check(bootstrap_servers: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=TIMEOUT_SECONDS * 1000,
        )
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    return check
