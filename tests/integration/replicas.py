"""A read model shared by several consumer replicas, and a replica run as a process.

``python -m tests.integration.replicas BOOTSTRAP DATABASE_URL TOPIC NAME`` runs one
replica in a consumer group until it is killed; it prints ``applying`` when a batch's
transaction is open, so a test can kill it mid-batch.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from tests.integration.test_consumer import TEST_EVENTS, ThingChanged

SCHEMA = "readmodel"


class AppliedVersions:
    """One row per event applied: a version applied twice or never shows."""

    handles: Sequence[type[EventData]] = (ThingChanged,)

    def __init__(self, topic: str, name: str, pause_seconds: float = 0.0) -> None:
        self.name = name
        self.topics: Sequence[str] = (topic,)
        self.table = f"{SCHEMA}.{name}"
        self.pause_seconds = pause_seconds

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (aggregate text, version int)"  # type: ignore[arg-type]
        )

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f"TRUNCATE {self.table}")  # type: ignore[arg-type]

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        async with conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO {self.table} VALUES (%s, %s)",  # type: ignore[arg-type]
                [(str(e.aggregate_id), e.version) for e in events],
            )
        if self.pause_seconds:
            print("applying", flush=True)
            await asyncio.sleep(self.pause_seconds)


def replica_settings(bootstrap: str, database_url: str, group: bool = True) -> ConsumerSettings:
    return ConsumerSettings(
        bootstrap_servers=bootstrap,
        database_url=database_url,
        schema=SCHEMA,
        batch_size=20,
        poll_ms=20,
        retry_backoff_seconds=0.01,
        group=group,
        # Short, so that a killed replica's partitions move within seconds.
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
        rebalance_timeout_ms=5000,
    )


async def applied(database_url: str, table: str) -> list[tuple[str, int]]:
    async with await AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(f"SELECT aggregate, version FROM {table}")  # type: ignore[arg-type]
        return sorted(await cur.fetchall())


async def _run(bootstrap: str, database_url: str, topic: str, name: str) -> None:
    projection = AppliedVersions(topic, name, pause_seconds=0.3)
    consumer = ProjectionConsumer(
        projection, replica_settings(bootstrap, database_url), catalog=TEST_EVENTS
    )
    await consumer.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_run(*sys.argv[1:5]))
