"""Several replicas of one projection share its topic's partitions (a Kafka consumer group
on the real embedded broker, the read model in real PostgreSQL)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.messaging.consumer import Fenced, ProjectionConsumer
from tests.integration.replicas import AppliedVersions, applied, replica_settings
from tests.integration.test_consumer import TEST_EVENTS, aggregate, event_record, produce, until

REPO = Path(__file__).resolve().parents[2]


def history(
    aggregates: int, versions: int, prefix: str
) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    return [
        event_record(f"{prefix}-{a}", v) for v in range(1, versions + 1) for a in range(aggregates)
    ]


def expected(aggregates: int, versions: int, prefix: str) -> list[tuple[str, int]]:
    return sorted(
        (aggregate(f"{prefix}-{a}"), v) for a in range(aggregates) for v in range(1, versions + 1)
    )


def replica(kafka: EmbeddedKafka, database_url: str, topic: str, name: str) -> ProjectionConsumer:
    projection = AppliedVersions(topic, name)
    return ProjectionConsumer(
        projection, replica_settings(kafka.bootstrap_servers, database_url), catalog=TEST_EVENTS
    )


async def test_two_replicas_share_the_partitions_and_build_what_one_replica_builds(
    kafka: EmbeddedKafka, fresh_topic: str, fresh_database: str, postgres: EmbeddedPostgres
) -> None:
    name = f"shared_{uuid.uuid4().hex[:6]}"
    await produce(kafka.bootstrap_servers, fresh_topic, history(30, 4, name))
    one_database = postgres.database_url(name)
    postgres.create_database(name)
    alone = ProjectionConsumer(
        AppliedVersions(fresh_topic, name),
        replica_settings(kafka.bootstrap_servers, one_database, group=False),
        catalog=TEST_EVENTS,
    )
    await alone.catch_up()
    first, second = (replica(kafka, fresh_database, fresh_topic, name) for _ in range(2))
    await first.start()
    await second.start()
    try:

        async def both_hold_partitions() -> bool:
            return bool(first.claims) and bool(second.claims)

        await until(both_hold_partitions, within=30)
        assert not set(first.claims) & set(second.claims)
        await produce(kafka.bootstrap_servers, fresh_topic, history(30, 6, name)[30 * 4 :])

        async def all_applied() -> bool:
            return len(await applied(fresh_database, f"readmodel.{name}")) >= 30 * 6

        await until(all_applied, within=30)
        await asyncio.sleep(0.5)  # a version applied twice would show up by now
    finally:
        await first.stop()
        await second.stop()
    await alone.catch_up()
    assert await applied(fresh_database, f"readmodel.{name}") == expected(30, 6, name)
    assert await applied(fresh_database, f"readmodel.{name}") == await applied(
        one_database, f"readmodel.{name}"
    )


async def test_a_batch_of_a_consumer_whose_partitions_were_claimed_since_is_refused(
    kafka: EmbeddedKafka, fresh_topic: str, fresh_database: str
) -> None:
    name = f"zombie_{uuid.uuid4().hex[:6]}"
    settings = replica_settings(kafka.bootstrap_servers, fresh_database, group=False)
    zombie = ProjectionConsumer(AppliedVersions(fresh_topic, name), settings, catalog=TEST_EVENTS)
    successor = ProjectionConsumer(
        AppliedVersions(fresh_topic, name), settings, catalog=TEST_EVENTS
    )
    await produce(kafka.bootstrap_servers, fresh_topic, history(8, 1, name))
    await zombie.open()
    try:
        await successor.open()  # claims every partition after the zombie did
        try:
            with pytest.raises(Fenced):
                while True:
                    await zombie._poll_once()
            assert await applied(fresh_database, f"readmodel.{name}") == []
            assert await successor.catch_up() == 8
        finally:
            await successor.stop()
    finally:
        await zombie.stop()
    assert await applied(fresh_database, f"readmodel.{name}") == expected(8, 1, name)


async def test_a_replica_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(
    kafka: EmbeddedKafka, fresh_topic: str, fresh_database: str
) -> None:
    name = f"killed_{uuid.uuid4().hex[:6]}"
    survivor = replica(kafka, fresh_database, fresh_topic, name)
    await survivor.start()
    doomed = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "tests.integration.replicas",
            kafka.bootstrap_servers,
            fresh_database,
            fresh_topic,
            name,
        ],
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:

        async def shared() -> bool:
            return 0 < len(survivor.claims) < 4

        await until(shared, within=30)
        await produce(kafka.bootstrap_servers, fresh_topic, history(40, 3, name))
        assert doomed.stdout is not None
        line = await doomed.stdout.readline()
        assert line.strip() == b"applying"  # its batch's transaction is open: kill it now
        doomed.kill()
        await doomed.wait()

        async def taken_over() -> bool:
            return len(survivor.claims) == 4

        await until(taken_over, within=30)
        await produce(kafka.bootstrap_servers, fresh_topic, history(40, 5, name)[40 * 3 :])

        async def all_applied() -> bool:
            return len(await applied(fresh_database, f"readmodel.{name}")) >= 40 * 5

        await until(all_applied, within=30)
        await asyncio.sleep(0.5)
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
        await survivor.stop()
    versions = await applied(fresh_database, f"readmodel.{name}")
    assert [v for v, n in Counter(versions).items() if n > 1] == []
    assert versions == expected(40, 5, name)
