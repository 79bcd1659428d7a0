"""`crm projections rebuild`: the new read model is built beside the live one, which keeps
answering, and swapped in; writes that arrive meanwhile are applied exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import pytest
from aiokafka import TopicPartition
from psycopg import AsyncConnection

from crm_projections.cli import consumer_settings, rebuild_projection
from crm_projections.customer360.projection import SCHEMA, Customer360Projection
from crm_shared.messaging.offsets import end_offsets
from crm_shared.messaging.rebuild import CannotRebuild
from tests.e2e.conftest import Stack, eventually, register_contact
from tests.e2e.projectable import projected

BUILD = f"{SCHEMA}_build"
T = TypeVar("T")


async def _rows(stack: Stack, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    assert stack.settings.database_url is not None
    async with await AsyncConnection.connect(stack.settings.database_url) as conn:
        cur = await conn.execute(sql, params)  # type: ignore[arg-type]
        return await cur.fetchall()


async def _schema_exists(stack: Stack, schema: str) -> bool:
    return bool(await _rows(stack, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)))


async def _the_360(stack: Stack) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the 360 holds that a build from scratch must reproduce."""
    return {
        "customers": await _rows(
            stack, f"SELECT contact_id, version, doc FROM {SCHEMA}.customers ORDER BY 1"
        ),
        "accounts": await _rows(
            stack, f"SELECT account_id, version, doc FROM {SCHEMA}.accounts ORDER BY 1"
        ),
        "timeline": await _rows(stack, f"SELECT event_id, entry FROM {SCHEMA}.timeline ORDER BY 1"),
        "versions": await _rows(
            stack,
            f"SELECT aggregate_id, version FROM {SCHEMA}.applied_versions_by_topic"
            " WHERE consumer = 'customer360' ORDER BY 1",
        ),
    }


@contextlib.asynccontextmanager
async def _running(work: Coroutine[Any, Any, T]) -> AsyncIterator[asyncio.Task[T]]:
    """``work`` as a task that does not outlive the test (the stack's loop is the session's)."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _applied_everything(stack: Stack) -> bool | None:
    """Whether the live 360 has applied every record on the topics it reads (what the
    tests before this one wrote may still be on its way, and a rebuild would include it)."""
    assert stack.settings.database_url and stack.settings.kafka_bootstrap_servers
    projection = Customer360Projection()
    partitions = [
        TopicPartition(topic, partition)
        for topic in projection.topics
        for partition in range(stack.settings.topic_partitions)
    ]
    ends = await end_offsets(stack.settings.kafka_bootstrap_servers, partitions)
    applied = {
        (topic, partition): offset
        for topic, partition, offset in await _rows(
            stack,
            f"SELECT topic, partition, next_offset FROM {SCHEMA}.consumer_offsets"
            " WHERE consumer = %s",
            (projection.name,),
        )
    }
    caught_up = all(applied.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items())
    return caught_up or None


async def _registered(stack: Stack, tag: str, count: int) -> list[str]:
    ids = [(await register_contact(stack, tags=[tag]))["id"] for _ in range(count)]
    for contact_id in ids:
        await projected(stack, contact_id, 1)
    return ids


async def _tagged(stack: Stack, tag: str) -> int:
    response = await stack.projections.get(
        "/v1/customers", params={"tag": tag}, headers=stack.auth()
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


@pytest.mark.parametrize("processes", [1, 2])
async def test_the_live_360_answers_throughout_a_rebuild_and_then_equals_a_fresh_build(
    stack: Stack, processes: int
) -> None:
    """Built in one process or with the partitions shared among several."""
    tag = f"live-{uuid.uuid4().hex[:8]}"
    ids = await _registered(stack, tag, 5)
    await eventually(lambda: _applied_everything(stack), within=60.0)
    before = await _the_360(stack)

    answers, during_build = 0, 0
    settings = replace(consumer_settings(stack.settings), build_processes=processes)
    async with _running(rebuild_projection("customer360", settings)) as rebuilding:
        while not rebuilding.done():
            if await _schema_exists(stack, BUILD):
                during_build += 1
            response = await stack.projections.get(f"/v1/customers/{ids[0]}", headers=stack.auth())
            assert response.status_code == 200, response.text
            assert await _tagged(stack, tag) == len(ids)
            answers += 1
        rebuilt = await rebuilding

    assert rebuilt.events > 0 and answers > 0
    assert rebuilt.processes == processes
    assert during_build > 0, "no query ran while the new 360 was being built"
    assert await _the_360(stack) == before
    assert not await _schema_exists(stack, BUILD)
    assert not await _schema_exists(stack, f"{SCHEMA}_old")


async def _interactions(stack: Stack, contact_id: str, how_many: int) -> None:
    for n in range(how_many):
        response = await stack.contacts.post(
            f"/v1/contacts/{contact_id}/interactions",
            json={
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": f"2026-01-01T10:{n:02d}:00Z",
            },
            headers=stack.auth(),
        )
        assert response.status_code == 201, response.text


async def test_a_rebuild_while_writes_continue_applies_every_event_exactly_once(
    stack: Stack,
) -> None:
    tag = f"busy-{uuid.uuid4().hex[:8]}"
    written: list[str] = []
    stop = asyncio.Event()

    async def write() -> None:
        # Each contact: a registration and three interactions, which the 360 counts; an
        # interaction applied twice (or lost) shows in the count. Paced: the rebuild shares
        # this event loop with the writer and the services.
        while not stop.is_set():
            contact = await register_contact(stack, tags=[tag])
            written.append(contact["id"])
            await _interactions(stack, contact["id"], 3)
            await asyncio.sleep(0.05)

    async def written_at_least(count: int) -> bool:
        return len(written) >= count

    async with _running(write()) as writing:
        await eventually(lambda: written_at_least(2))
        settings = replace(consumer_settings(stack.settings), build_processes=2)
        assert (await rebuild_projection("customer360", settings)).processes == 2
        during = len(written)
        await eventually(lambda: written_at_least(during + 2), within=30)
        stop.set()
        await writing

    for contact_id in written:
        document = await projected(stack, contact_id, 4)
        assert document["version"] == 4
        assert document["interactions"]["count"] == 3
        assert len(document["timeline"]) == 4
    stored = await _rows(
        stack,
        "SELECT originator_id::text, max(originator_version) FROM contacts.contacts_events"
        " WHERE originator_id::text = ANY(%s) GROUP BY 1 ORDER BY 1",
        (written,),
    )
    applied = await _rows(
        stack,
        f"SELECT aggregate_id, version FROM {SCHEMA}.applied_versions_by_topic"
        " WHERE consumer = 'customer360' AND aggregate_id = ANY(%s) ORDER BY 1",
        (written,),
    )
    assert applied == stored
    assert len(stored) == len(written)


async def test_a_cancelled_rebuild_leaves_the_live_360_as_it_was_and_no_build_behind(
    stack: Stack,
) -> None:
    tag = f"kept-{uuid.uuid4().hex[:8]}"
    await _registered(stack, tag, 3)
    before = await _the_360(stack)

    settings = replace(consumer_settings(stack.settings), build_processes=2)
    async with _running(rebuild_projection("customer360", settings)) as rebuilding:
        await eventually(lambda: _schema_exists(stack, BUILD))
        rebuilding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rebuilding

    assert multiprocessing.active_children() == []  # the build's other process is gone too
    assert not await _schema_exists(stack, BUILD)
    assert await _the_360(stack) == before
    assert await _tagged(stack, tag) == 3


async def test_a_build_left_by_a_killed_rebuild_is_discarded_by_the_next_one(
    stack: Stack,
) -> None:
    tag = f"again-{uuid.uuid4().hex[:8]}"
    await _registered(stack, tag, 2)
    before = await _the_360(stack)
    # What a rebuild killed mid-build leaves: a part-built model and positions beside it.
    assert stack.settings.database_url is not None
    async with await AsyncConnection.connect(stack.settings.database_url, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {BUILD}")
        await conn.execute(f"CREATE TABLE {BUILD}.leftover (n int)")

    rebuilt = await rebuild_projection("customer360", consumer_settings(stack.settings))

    assert rebuilt.events > 0
    assert not await _schema_exists(stack, BUILD)
    assert not await _rows(
        stack,
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'leftover'",
    )
    assert await _the_360(stack) == before


async def test_a_second_rebuild_of_the_same_read_model_is_refused_while_one_runs(
    stack: Stack,
) -> None:
    assert stack.settings.database_url is not None
    async with await AsyncConnection.connect(stack.settings.database_url, autocommit=True) as conn:
        # What a running rebuild holds for as long as it runs.
        await conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"rebuild:{SCHEMA}",))
        with pytest.raises(CannotRebuild, match="already running"):
            await rebuild_projection("customer360", consumer_settings(stack.settings))
