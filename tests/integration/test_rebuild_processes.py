"""A rebuild reads its topics' partitions in several processes (over the real PostgreSQL
and the real Kafka protocol): what one of them fails on fails the whole rebuild, and
nothing of the build, and none of its processes, outlives it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import orjson
import psutil
import pytest
from psycopg import AsyncConnection

from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.consumer import ConsumerSettings
from crm_shared.messaging.rebuild import RebuildFailed, rebuild
from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.projections import ReadModel
from tests.integration.test_consumer import produce


class Registrations(ReadModel):
    """Keeps the id of every registration; ``dies_elsewhere``: a process other than the
    one that started the rebuild ends abruptly when it is given events."""

    name = "registrations"
    handles = (ContactRegistered,)
    schema = "registrations"
    tables = ("registered",)

    def __init__(
        self,
        schema: str | None = None,
        *,
        indexed: bool = True,
        topic: str = "",
        dies_elsewhere: int | None = None,
        pause: float = 0.0,
    ) -> None:
        super().__init__(schema, indexed=indexed)
        self.topic = topic
        self.dies_elsewhere = dies_elsewhere
        self.pause = pause  # seconds per batch: a slow fold
        self.ddl = (f'CREATE TABLE IF NOT EXISTS "{self.schema}".registered (id uuid PRIMARY KEY)',)

    @property
    def topics(self) -> Sequence[str]:  # type: ignore[override]
        return (self.topic,)

    def in_schema(self, schema: str, *, indexed: bool = True) -> Self:
        return type(self)(
            schema,
            indexed=indexed,
            topic=self.topic,
            dies_elsewhere=self.dies_elsewhere,
            pause=self.pause,
        )

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        if self.dies_elsewhere is not None and os.getpid() != self.dies_elsewhere:
            os._exit(3)
        await asyncio.sleep(self.pause)
        async with conn.cursor() as cur:
            await cur.executemany(
                f'INSERT INTO "{self.schema}".registered VALUES (%s)',
                [(e.aggregate_id,) for e in events],
            )


def registration(contact: uuid.UUID) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    data = ContactRegistered(first_name="Ada", last_name="Lovelace", department="sales")
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", b"/crm/contacts"),
        ("ce_type", ContactRegistered.type_name.encode()),
        ("ce_subject", str(contact).encode()),
        ("ce_time", b"2026-11-01T10:00:00+00:00"),
        ("ce_sequence", b"1"),
        ("content-type", b"application/json"),
    ]
    return str(contact).encode(), orjson.dumps(data.model_dump(mode="json")), headers


async def _registered(database_url: str, schema: str) -> set[uuid.UUID]:
    async with await AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(f'SELECT id FROM "{schema}".registered')
        return {row[0] for row in await cur.fetchall()}


async def _schemas(database_url: str) -> set[str]:
    async with await AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT nspname FROM pg_namespace")
        return {name for (name,) in await cur.fetchall()}


@pytest.fixture
async def registrations(kafka: EmbeddedKafka, fresh_topic: str) -> list[uuid.UUID]:
    contacts = [uuid.uuid4() for _ in range(40)]  # over all four partitions
    await produce(kafka.bootstrap_servers, fresh_topic, [registration(c) for c in contacts])
    return contacts


def _settings(database_url: str, kafka: EmbeddedKafka, processes: int) -> ConsumerSettings:
    return ConsumerSettings(
        kafka.bootstrap_servers,
        database_url,
        schema="registrations",
        batch_size=7,
        build_processes=processes,
    )


async def test_every_partition_is_built_once_when_processes_share_them(
    fresh_database: str, kafka: EmbeddedKafka, fresh_topic: str, registrations: list[uuid.UUID]
) -> None:
    rebuilt = await rebuild(Registrations(topic=fresh_topic), _settings(fresh_database, kafka, 3))

    assert rebuilt.processes == 3
    assert rebuilt.events == len(registrations)
    assert await _registered(fresh_database, "registrations") == set(registrations)
    assert multiprocessing.active_children() == []


async def test_no_more_processes_than_partitions_are_started(
    fresh_database: str, kafka: EmbeddedKafka, fresh_topic: str, registrations: list[uuid.UUID]
) -> None:
    rebuilt = await rebuild(Registrations(topic=fresh_topic), _settings(fresh_database, kafka, 9))

    assert rebuilt.processes == 4
    assert await _registered(fresh_database, "registrations") == set(registrations)


async def test_settings_that_cannot_be_sent_to_another_process_build_in_one(
    fresh_database: str,
    kafka: EmbeddedKafka,
    fresh_topic: str,
    registrations: list[uuid.UUID],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(fresh_database, kafka, 2)
    settings.keys = DataKeyClient(lambda service: "http://127.0.0.1:1", lambda: {})

    rebuilt = await rebuild(Registrations(topic=fresh_topic), settings)

    assert rebuilt.processes == 1
    assert "built in one process" in caplog.text
    assert await _registered(fresh_database, "registrations") == set(registrations)
    await settings.keys.close()


async def test_a_build_process_that_dies_fails_the_rebuild_and_leaves_the_live_model_alone(
    fresh_database: str, kafka: EmbeddedKafka, fresh_topic: str, registrations: list[uuid.UUID]
) -> None:
    live = Registrations(topic=fresh_topic)
    async with await AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        await live.setup(conn)
        await conn.execute("INSERT INTO registrations.registered VALUES (%s)", (registrations[0],))
    dying = Registrations(topic=fresh_topic, dies_elsewhere=os.getpid())

    with pytest.raises(RebuildFailed, match="ended without a word"):
        await rebuild(dying, _settings(fresh_database, kafka, 2))

    assert await _registered(fresh_database, "registrations") == {registrations[0]}
    assert "registrations_build" not in await _schemas(fresh_database)
    assert multiprocessing.active_children() == []


# A rebuild run by a process of its own, which the test kills: in it, the model folds slowly
# (half a second per batch of one), so its other process is mid-build when it dies.
REBUILD_IN_A_PROCESS = """
import asyncio, sys
from crm_shared.messaging.consumer import ConsumerSettings
from crm_shared.messaging.rebuild import rebuild
from tests.integration.test_rebuild_processes import Registrations
bootstrap, database_url, topic = sys.argv[1:]
settings = ConsumerSettings(
    bootstrap, database_url, schema="registrations", batch_size=1, build_processes=2
)
asyncio.run(rebuild(Registrations(topic=topic, pause=0.5), settings))
"""


async def test_when_the_rebuilds_process_is_killed_its_other_process_stops_and_a_new_rebuild_is_whole(
    fresh_database: str, kafka: EmbeddedKafka, fresh_topic: str, registrations: list[uuid.UUID]
) -> None:
    rebuilding = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        REBUILD_IN_A_PROCESS,
        kafka.bootstrap_servers,
        fresh_database,
        fresh_topic,
        cwd=Path(__file__).parents[2],
    )
    try:
        other = await _other_process_applying(rebuilding.pid, fresh_database)
        rebuilding.send_signal(signal.SIGKILL)
        await rebuilding.wait()
        # Left alone it would fold for seconds more; psutil.TimeoutExpired if it does.
        await asyncio.to_thread(other.wait, 3)
    finally:
        if rebuilding.returncode is None:
            rebuilding.kill()
            await rebuilding.wait()

    rebuilt = await rebuild(Registrations(topic=fresh_topic), _settings(fresh_database, kafka, 2))

    assert rebuilt.events == len(registrations)
    assert await _registered(fresh_database, "registrations") == set(registrations)


async def _other_process_applying(pid: int, database_url: str) -> psutil.Process:
    """The rebuild's other process, once the two have applied something to the build."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = psutil.Process(pid).children()
        if (
            children
            and "registrations_build" in await _schemas(database_url)
            and len(await _registered(database_url, "registrations_build")) >= 4
        ):
            return children[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the rebuild did not start applying in two processes")
