"""/readyz answers within its bound whatever the checks do, and shows what they report."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from crm_shared.http.app import operations_router
from crm_shared.http.readiness import CheckReport, ReadinessCheck, ReadinessProbe

TIMEOUT = 0.2


async def ok() -> None:
    return None


async def refused() -> None:
    raise ConnectionRefusedError


def reporting(report: CheckReport) -> ReadinessCheck:
    async def check() -> CheckReport:
        return report

    return check


def probe(**checks: ReadinessCheck) -> ReadinessProbe:
    return ReadinessProbe(lambda: dict(checks), timeout=TIMEOUT)


async def test_every_check_ok_is_ready() -> None:
    assert await probe(database=ok, broker=ok)() == (True, {"database": "ok", "broker": "ok"})


async def test_a_check_that_fails_is_unavailable_and_not_ready() -> None:
    ready, results = await probe(database=ok, broker=refused)()
    assert not ready
    assert results["broker"] == "unavailable: ConnectionRefusedError"


async def test_a_check_that_does_not_answer_in_time_is_unavailable() -> None:
    never = asyncio.Event()

    async def stalled() -> None:
        await never.wait()

    ready, results = await probe(database=stalled, broker=ok)()
    assert not ready
    assert results == {"database": "unavailable: no answer within 0.2 s", "broker": "ok"}
    never.set()


async def test_a_check_that_does_not_answer_in_time_is_left_running_not_cancelled() -> None:
    # Cancelling a psycopg query waits for the server to acknowledge the cancel, which a
    # stalled server never does: the probe must not wait for that.
    never = asyncio.Event()
    ended = False

    async def stalled() -> None:
        nonlocal ended
        try:
            await never.wait()
        finally:
            ended = True

    ready, _ = await probe(database=stalled)()
    assert not ready
    assert not ended
    never.set()


async def test_a_check_still_running_is_awaited_again_rather_than_started_again() -> None:
    started = 0
    resume = asyncio.Event()

    async def stalled() -> None:
        nonlocal started
        started += 1
        await resume.wait()

    readiness = probe(database=stalled)
    await readiness()
    await readiness()
    assert started == 1
    resume.set()
    assert await readiness() == (True, {"database": "ok"})


async def test_a_report_with_another_status_is_not_ready_and_shown_whole() -> None:
    lagging = reporting({"status": "catching_up", "events_behind": 123})
    ready, results = await probe(database=ok, customer360=lagging)()
    assert not ready
    assert results["customer360"] == {"status": "catching_up", "events_behind": 123}


async def test_a_report_with_status_ok_is_ready_and_shown_whole() -> None:
    current = reporting({"status": "ok", "events_behind": 0})
    assert await probe(customer360=current)() == (
        True,
        {"customer360": {"status": "ok", "events_behind": 0}},
    )


async def test_readyz_answers_503_with_each_checks_outcome() -> None:
    app = FastAPI()
    lagging = reporting({"status": "catching_up", "events_behind": 7})
    app.include_router(operations_router(lambda: {"database": ok, "customer360": lagging}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "not_ready",
        "checks": {"database": "ok", "customer360": {"status": "catching_up", "events_behind": 7}},
    }
