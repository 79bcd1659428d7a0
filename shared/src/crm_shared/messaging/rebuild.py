"""Rebuilding a read model beside the live one, then swapping it in.

The live read model keeps answering and its consumers keep applying throughout:

1. **Build.** The read model and its consumer's positions are set up in
   ``<schema>_build`` (tables without their secondary indexes: a bulk load is faster
   without them), and consumers outside any group apply the topics from their start to
   their end as they are when they start: one per process, the partitions shared among
   ``ConsumerSettings.build_processes`` processes (``catch_up_processes``).
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

import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from psycopg import AsyncConnection

from crm_shared.messaging.catch_up_processes import RebuildFailed, catch_up_in_processes
from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from crm_shared.messaging.consumer_state import ConsumerState, setup_lock
from crm_shared.projections.projection import ReadModel

__all__ = ["CannotRebuild", "RebuildFailed", "Rebuilt", "build_schema", "rebuild"]

log = logging.getLogger(__name__)

BUILD_SUFFIX = "_build"
OLD_SUFFIX = "_old"


class CannotRebuild(Exception):
    """This read model cannot be rebuilt beside the live one (the message says why)."""


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
    events, processes = await catch_up_in_processes(unindexed, settings)
    # Its setup creates the indexes; then it reads what was written meanwhile.
    events += await ProjectionConsumer(projection.in_schema(settings.schema), settings).catch_up()
    return events, processes


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
    async with setup_lock(conn, live):
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
