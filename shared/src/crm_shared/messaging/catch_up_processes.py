"""A read model's topics read to their end by several processes at once: the first pass
of a rebuild (``crm_shared.messaging.rebuild``).

Decoding a batch, opening its personal fields and reading its records are CPU-bound
Python, one core per process. The partitions are shared among the processes (this one
and others it spawns), each taking those whose number is its index modulo their count
(``ConsumerSettings.share``) and claiming them in the read model's schema as a replica
would, so their batches never overlap; the read model's writer lock still orders their
transactions, so the folds stay serial. A process that fails or dies fails the whole
pass, and the others are stopped; one whose starter is killed stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from aiokafka import AIOKafkaConsumer

from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from crm_shared.messaging.failures import describe
from crm_shared.projections.projection import ReadModel

log = logging.getLogger(__name__)


class RebuildFailed(Exception):
    """One of the build's processes failed (the message says which and how)."""


async def catch_up_in_processes(
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
    """One share's catch-up in a process of its own, killed if this one stops waiting.

    Spawned, not forked, though importing the code again costs it 1.5-2 s: a forked copy
    holds this process's PostgreSQL connections, and the first one it garbage-collects
    tells the server to end that session (the rebuild's lock with it)."""
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
        with contextlib.suppress(OSError):  # the rebuild's process is gone: nobody to tell
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
