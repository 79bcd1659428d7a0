"""Rebuilding a read model beside the live one, then swapping it in.

The live read model keeps answering and its consumers keep applying throughout:

1. **Build.** The read model and its consumer's positions are set up in
   ``<schema>_build`` (tables without their secondary indexes: a bulk load is faster
   without them), and a consumer that takes every partition, outside any group, applies
   the topics from their start to their end as they are when it starts.
2. **Index, and catch up.** The indexes are created, and the topics are read again to
   their end as it is now, so little is left for the live consumers after the swap.
3. **Swap**, in one transaction holding the live model's advisory lock (no live batch is
   in flight): the build's generation is set past the live one, the live schema becomes
   ``<schema>_old`` and the build the live schema. A live consumer's next batch (or its
   idle check, within a second) finds a generation that is not its own and repositions
   from the stored offsets, which are now the build's: it applies what was written since
   the build's last catch-up, and the build's applied versions make that exactly once.
   Readers never stop: their statements name the live schema throughout, and a schema's
   rename invalidates cached plans, so a prepared statement reads the new tables.
4. ``<schema>_old`` is dropped.

The schema holds the projection's tables and its consumer's positions (the consumer
keeps a read model's positions in the read model's schema, whatever the settings name),
and nothing of another projection: a swap carries exactly one read model with the
offsets, anchors and versions that describe it. One rebuild of a read model runs at a time (a session advisory
lock); a build left by a rebuild that was killed is dropped and built again, since a
rebuild is often there because the fold changed, and a leftover may come from other code.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from aiokafka import AIOKafkaConsumer
from psycopg import AsyncConnection

from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from crm_shared.messaging.consumer_state import ConsumerState
from crm_shared.messaging.failures import describe
from crm_shared.projections.projection import ReadModel

log = logging.getLogger(__name__)

BUILD_SUFFIX = "_build"
OLD_SUFFIX = "_old"


class CannotRebuild(Exception):
    """This read model cannot be rebuilt beside the live one (the message says why)."""


class RebuildFailed(Exception):
    """One of the build's processes failed (the message says which and how)."""


@dataclass(frozen=True)
class Rebuilt:
    events: int  # records read by the build, both passes
    seconds: float  # from the build's start to the swap's commit
    processes: int  # how many read the topics in the first pass


def build_schema(projection: ReadModel) -> str:
    return f"{projection.schema}{BUILD_SUFFIX}"


async def rebuild(projection: ReadModel, settings: ConsumerSettings) -> Rebuilt:
    """Builds ``projection`` from the start of its topics beside the live one, swaps it in."""
    live, build = projection.schema, build_schema(projection)
    async with await AsyncConnection.connect(settings.database_url, autocommit=True) as conn:
        await _one_at_a_time(conn, live)
        await _drop(conn, build)  # what a killed rebuild left
        await _drop(conn, f"{live}{OLD_SUFFIX}")
        started = time.perf_counter()
        try:
            events, processes = await _build(
                projection, replace(settings, schema=build, group=False)
            )
            await _swap(conn, projection.name, live, build)
        except BaseException:
            # On a connection of its own: a cancelled statement may have broken this one.
            async with await AsyncConnection.connect(
                settings.database_url, autocommit=True
            ) as cleanup:
                await _drop(cleanup, build)
            raise
        seconds = time.perf_counter() - started
        await _drop(conn, f"{live}{OLD_SUFFIX}")
    return Rebuilt(events, seconds, processes)


async def _one_at_a_time(conn: AsyncConnection[Any], live: str) -> None:
    """Held by this connection's session until the rebuild ends (or its process dies)."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"rebuild:{live}",))
    row = await cur.fetchone()
    if not (row and row[0]):
        raise CannotRebuild(f"a rebuild of {live!r} is already running")


async def _drop(conn: AsyncConnection[Any], schema: str) -> None:
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _build(projection: ReadModel, settings: ConsumerSettings) -> tuple[int, int]:
    """(records read, processes that read them in the first pass)."""
    unindexed = projection.in_schema(settings.schema, indexed=False)
    await ProjectionConsumer(unindexed, settings).setup()
    await _check_built_beside(projection, settings)
    events, processes = await _catch_up_in_processes(unindexed, settings)
    # Its setup creates the indexes; then it reads what was written meanwhile.
    events += await ProjectionConsumer(projection.in_schema(settings.schema), settings).catch_up()
    return events, processes


async def _catch_up_in_processes(
    projection: ReadModel, settings: ConsumerSettings
) -> tuple[int, int]:
    """The first pass, its partitions shared among ``settings.build_processes`` processes
    (this one and others it starts): a batch's decoding and the opening of its personal
    fields are CPU-bound Python, which one process runs on one core. Each process claims
    its partitions in the build's schema like a replica, so their batches never overlap.
    The read model's writer lock still orders their transactions (folds stay serial)."""
    count = min(settings.build_processes, await _most_partitions(settings, projection.topics))
    if count > 1:
        try:
            pickle.dumps((projection, settings))
        except Exception as error:
            log.warning("%s: built in one process (%s)", projection.name, error)
            count = 1
    if count == 1:
        return await ProjectionConsumer(projection, settings).catch_up(), 1
    shares = [replace(settings, share=(index, count)) for index in range(count)]
    others = [_in_another_process(projection, share) for share in shares[1:]]
    here = ProjectionConsumer(projection, shares[0]).catch_up()
    return sum(await _all_or_none([here, *others])), count


async def _most_partitions(settings: ConsumerSettings, topics: Sequence[str]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        await consumer.topics()  # fresh metadata
        return max((len(consumer.partitions_for_topic(t) or ()) for t in topics), default=1)
    finally:
        await consumer.stop()


async def _all_or_none(work: list[Coroutine[Any, Any, int]]) -> list[int]:
    """Every share's count; when one fails, the others are stopped and it is raised."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _in_another_process(projection: ReadModel, settings: ConsumerSettings) -> int:
    """One share's catch-up in a process of its own (spawned: nothing of this process's
    connections or threads is copied into it), killed if this one stops waiting."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_catch_up_share,
        args=(projection, settings, sending, os.getpid()),
        name=f"rebuild-{projection.name}-{settings.share[0]}",
        daemon=True,
    )
    process.start()
    sending.close()
    try:
        outcome = await asyncio.to_thread(_outcome_of, receiving)
    finally:
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join)
        receiving.close()
    if isinstance(outcome, str):
        raise RebuildFailed(f"partitions {settings.share[0]} of {settings.share[1]}: {outcome}")
    return outcome


def _outcome_of(receiving: Connection) -> int | str:
    try:
        outcome: int | str = receiving.recv()
    except EOFError:
        return "its process ended without a word"
    return outcome


def _catch_up_share(
    projection: ReadModel, settings: ConsumerSettings, sending: Connection, parent: int
) -> None:
    """In the other process: the records read, or what failed (with no data in it)."""
    try:
        sending.send(asyncio.run(_catch_up_and_close(projection, settings, parent)))
    except BaseException as error:
        sending.send(f"{type(error).__name__}: {describe(error)}")
        raise SystemExit(1) from None


async def _catch_up_and_close(
    projection: ReadModel, settings: ConsumerSettings, parent: int
) -> int:
    watching = asyncio.create_task(_end_with(parent))
    try:
        return await ProjectionConsumer(projection, settings).catch_up()
    finally:
        watching.cancel()
        if settings.keys is not None:
            await settings.keys.close()


async def _end_with(parent: int) -> None:
    """Ends this process as soon as the rebuild's own is gone (killed: it had no time to
    stop us). Left running, it could write into the build of the next rebuild, whose
    claims start again from 1 like ours; ending now rolls its open batch back."""
    # Polled: no event tells a process that its parent died (the pipe's end is ours).
    while True:
        await asyncio.sleep(0.1)
        if os.getppid() != parent:
            break
    log.error("the rebuild's process %d is gone: this share of it stops", parent)
    os._exit(1)


async def _check_built_beside(projection: ReadModel, settings: ConsumerSettings) -> None:
    """A read model whose statements name its live schema would have written there."""
    async with await AsyncConnection.connect(settings.database_url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name = ANY(%s)",
            (settings.schema, list(projection.tables)),
        )
        row = await cur.fetchone()
    if not row or row[0] != len(projection.tables):
        raise CannotRebuild(
            f"{projection.name} did not build its tables in {settings.schema!r}: its"
            " statements must be built from its schema (ReadModel.in_schema)"
        )


async def _swap(conn: AsyncConnection[Any], name: str, live: str, build: str) -> None:
    live_state = ConsumerState(live, name)
    # A first build has no live model yet: give the swap one to take the place of.
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{live}"')
    await live_state.setup(conn)
    async with conn.transaction():
        generation = await live_state.lock(conn)
        await conn.execute(
            f'UPDATE "{build}".consumer_generations SET generation = %s WHERE consumer = %s',
            (generation + 1, name),
        )
        await conn.execute(f'ALTER SCHEMA "{live}" RENAME TO "{live}{OLD_SUFFIX}"')
        await conn.execute(f'ALTER SCHEMA "{build}" RENAME TO "{live}"')
    log.info(
        "%s: the rebuilt read model replaced the live one (generation %d)", name, generation + 1
    )
