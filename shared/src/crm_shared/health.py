"""Readiness checks: is the database reachable, is the broker reachable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaProducer
from psycopg import AsyncConnection


def database_check(database_url: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with await AsyncConnection.connect(database_url, connect_timeout=2) as conn:
            await conn.execute("SELECT 1")

    return check


def broker_check(producer: Callable[[], AIOKafkaProducer | None]) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        client = producer()
        if client is None:
            raise ConnectionError("not connected to the broker")
        if not await client.client.fetch_all_metadata():
            raise ConnectionError("the broker did not answer")

    return check
