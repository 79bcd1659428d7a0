"""Faults injected into a running `crm up` stack under a registration load.

Each run: a stack of its own, ~40 registrations a second over HTTP (each marked, each
retried with its Idempotency-Key until acknowledged), a fault a few seconds in, the load
for a few seconds more. Then: the stack heals by itself (both /readyz answer 200 within
HEAL_WITHIN), every acknowledged registration is in the event store and in the customer
360 within CONVERGE_WITHIN, and none is there twice. The figures are in
docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.faults.load import Load, Tally, converged
from tests.faults.stack import CrmUp, children_of, running, workers_of
from tests.integration.kafka_tools import read_all

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

PER_SECOND = 40.0
BEFORE_FAULT = 4.0  # seconds of load before the fault
AFTER_FAULT = 8.0  # and after it
HEAL_WITHIN = 30.0
CONVERGE_WITHIN = 30.0
PAUSE_SECONDS = 3.0


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.2)


async def under_load(crm_up: CrmUp, fault: Callable[[], Awaitable[None]]) -> tuple[Load, Tally]:
    load = Load(crm_up.url("contacts"), crm_up.token(), PER_SECOND)
    await load.start()
    await asyncio.sleep(BEFORE_FAULT)
    await fault()
    healing = asyncio.create_task(healed(crm_up))
    await asyncio.sleep(AFTER_FAULT)
    await load.stop()
    healed_in = await healing
    result, converged_in = await converged(crm_up.database_url, load, CONVERGE_WITHIN)
    record(fault.__name__, load, result, healed_in, converged_in)
    return load, result


async def healed(crm_up: CrmUp) -> float:
    """Seconds from the fault until both services answer /readyz with 200."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            try:
                codes = [
                    (await client.get(f"{crm_up.url(s)}/readyz")).status_code
                    for s in ("contacts", "projections")
                ]
            except httpx.TransportError:
                codes = []
            if codes == [200, 200]:
                return time.monotonic() - started
            if time.monotonic() - started > HEAL_WITHIN:
                raise AssertionError(f"not ready again within {HEAL_WITHIN} s: {codes}")
            await asyncio.sleep(0.2)


def record(fault: str, load: Load, result: Tally, healed_in: float, converged_in: float) -> None:
    """One line per run, for docs/reliability.md (appended to $CRM_FAULTS_REPORT if set)."""
    line = {
        "fault": fault,
        "per_second": load.per_second,
        "sent": load.sent,
        "acknowledged": result.acknowledged,
        "failed_attempts": load.failed_attempts,
        "given_up": len(load.given_up),
        "lost_from_event_store": len(result.lost_from_event_store),
        "lost_from_360": len(result.lost_from_360),
        "doubled": len(result.doubled),
        "healed_in_s": round(healed_in, 1),
        "converged_in_s": round(converged_in, 1),
    }
    print(json.dumps(line))
    if report := os.environ.get("CRM_FAULTS_REPORT"):
        with open(report, "a") as out:
            out.write(json.dumps(line) + "\n")


def assert_nothing_lost_or_doubled(load: Load, result: Tally) -> None:
    assert result.acknowledged > 0
    assert not load.given_up, f"{len(load.given_up)} writes never acknowledged"
    assert result.lost_from_event_store == []
    assert result.lost_from_360 == [], f"{len(result.lost_from_360)} missing from the 360"
    assert result.doubled == []


async def test_a_contacts_worker_killed_loses_and_doubles_nothing(crm_up: CrmUp) -> None:
    service = crm_up.pid("contacts")
    workers_before = workers_of(service)
    assert len(workers_before) == 2

    async def kill_a_contacts_worker() -> None:
        os.kill(min(workers_before), signal.SIGKILL)

    load, result = await under_load(crm_up, kill_a_contacts_worker)
    assert_nothing_lost_or_doubled(load, result)
    await wait_until(
        lambda: len(workers_of(service)) == 2 and min(workers_before) not in workers_of(service),
        HEAL_WITHIN,
        "a new worker in place of the killed one",
    )


async def test_the_projections_process_killed_loses_nothing_and_stops_nothing_else(
    crm_up: CrmUp,
) -> None:
    killed = crm_up.pid("projections")
    others = {c: crm_up.pid(c) for c in ("postgres", "kafka", "contacts")}

    async def kill_the_projections_process() -> None:
        os.kill(killed, signal.SIGKILL)

    load, result = await under_load(crm_up, kill_the_projections_process)
    assert_nothing_lost_or_doubled(load, result)
    assert load.failed_attempts == 0, "the contacts service must not notice"
    assert crm_up.pid("projections") != killed
    assert {c: crm_up.pid(c) for c in others} == others
    assert any("projections" in line and "SIGKILL" in line for line in crm_up.supervisor_lines())


async def test_the_broker_killed_and_restarted_empty_loses_and_doubles_nothing(
    crm_up: CrmUp,
) -> None:
    killed = crm_up.pid("kafka")

    async def kill_the_broker() -> None:
        os.kill(killed, signal.SIGKILL)

    load, result = await under_load(crm_up, kill_the_broker)
    assert crm_up.pid("kafka") != killed, "crm up starts the broker again"
    assert_nothing_lost_or_doubled(load, result)


async def test_a_broker_that_comes_back_with_a_shorter_log_loses_and_doubles_nothing(
    crm_up: CrmUp,
) -> None:
    # Duplicates make the old log longer than the one the relays write after the restart,
    # so that new events land below offsets the 360 has already read (the defect of
    # issue 11: a running consumer carried on from its old offsets and skipped them).
    killed = crm_up.pid("kafka")
    bootstrap = crm_up.stack["bootstrap_servers"]
    projections = [crm_up.pid("projections"), *children_of(crm_up.pid("projections"))]

    async def duplicate_records_then_kill_the_broker() -> None:
        records = await read_all(bootstrap, "crm.contacts.events")
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for record in records[:: max(len(records) // 12, 1)]:
                await producer.send_and_wait(
                    record.topic,
                    record.value,
                    key=record.key,
                    headers=list(record.headers),
                    partition=record.partition,
                )
        finally:
            await producer.stop()
        # The 360 is frozen while the broker restarts and the new log grows past its old
        # position: when it wakes, its next fetch lands in the new log (the dangerous
        # interleaving, made certain).
        for pid in projections:
            os.kill(pid, signal.SIGSTOP)
        try:
            os.kill(killed, signal.SIGKILL)
            await asyncio.sleep(4.0)
        finally:
            for pid in projections:
                if running(pid):
                    os.kill(pid, signal.SIGCONT)

    load, result = await under_load(crm_up, duplicate_records_then_kill_the_broker)
    assert crm_up.pid("kafka") != killed, "crm up starts the broker again"
    assert_nothing_lost_or_doubled(load, result)


async def test_a_database_pause_answers_not_ready_at_once_and_loses_nothing(
    crm_up: CrmUp,
) -> None:
    postmaster = crm_up.pid("postgres")
    during_pause: dict[str, int] = {}

    async def pause_the_database() -> None:
        server = [postmaster, *children_of(postmaster)]
        for pid in server:
            os.kill(pid, signal.SIGSTOP)
        try:
            # Probes that hung would raise (5 s client timeout) instead of answering 503.
            codes = await asyncio.gather(
                asyncio.to_thread(crm_up.readiness, "contacts"),
                asyncio.to_thread(crm_up.readiness, "projections"),
            )
            during_pause.update(zip(("contacts", "projections"), codes, strict=True))
            await asyncio.sleep(max(PAUSE_SECONDS - 2.0, 0))
        finally:
            for pid in server:
                if running(pid):
                    os.kill(pid, signal.SIGCONT)

    load, result = await under_load(crm_up, pause_the_database)
    assert during_pause == {"contacts": 503, "projections": 503}
    assert_nothing_lost_or_doubled(load, result)
    assert crm_up.pid("postgres") == postmaster, "a pause is not a death"


def test_sigterm_stops_every_child_and_removes_the_stack_file(crm_up: CrmUp) -> None:
    children = [crm_up.pid(c) for c in ("postgres", "kafka", "contacts", "projections")]
    workers = list(workers_of(crm_up.pid("contacts")))
    assert crm_up.stop() == 0
    assert [pid for pid in children + workers if running(pid)] == []
    assert not crm_up.stack_file.exists()
