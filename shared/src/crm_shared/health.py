"""Readiness checks: is the database reachable, is the broker reachable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient
from psycopg import AsyncConnection


def database_check(database_url: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with await AsyncConnection.connect(database_url, connect_timeout=2) as conn:
            await conn.execute("SELECT 1")

    return check


def broker_check(bootstrap_servers: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2000)
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    return check
