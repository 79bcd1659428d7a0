"""Readiness: every check answers within a bounded time, and may say more than up or down.

A check answers None (or ``{"status": "ok", ...}``) when ready; when not, it raises (the
dependency is "unavailable") or returns a report such as
``{"status": "catching_up", "events_behind": 123}``, shown as it is in the body of /readyz.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

CheckReport = Mapping[str, object]
ReadinessCheck = Callable[[], Awaitable[CheckReport | None]]

READY = "ok"


class ReadinessProbe:
    """Runs the checks side by side and answers within ``timeout`` seconds, whatever they do.

    A check that does not answer in time is left running, not cancelled: cancelling a
    query on a stalled PostgreSQL waits for the server to acknowledge the cancel. While it
    runs, later probes wait on that same check rather than pile up new connections.
    """

    def __init__(self, checks: Callable[[], dict[str, ReadinessCheck]], timeout: float) -> None:
        self.checks = checks
        self.timeout = timeout
        self._running: dict[str, asyncio.Task[CheckReport | None]] = {}

    async def __call__(self) -> tuple[bool, dict[str, object]]:
        """Whether every check is ready, and what each answered."""
        checks = self.checks()
        outcomes = await asyncio.gather(*(self._outcome(n, c) for n, c in checks.items()))
        results = dict(zip(checks, outcomes, strict=True))
        return all(_is_ready(outcome) for outcome in results.values()), results

    async def _outcome(self, name: str, check: ReadinessCheck) -> object:
        task = self._running.get(name)
        # (A task of another event loop: the app was served again, by a test say.)
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = self._running[name] = asyncio.create_task(_run(check))
            task.add_done_callback(_retrieve_exception)
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            return f"unavailable: no answer within {self.timeout:g} s"
        error = asyncio.CancelledError() if task.cancelled() else task.exception()
        if error is not None:
            return f"unavailable: {type(error).__name__}"
        report = task.result()
        return READY if report is None else dict(report)


async def _run(check: ReadinessCheck) -> CheckReport | None:
    return await check()


def _retrieve_exception(task: asyncio.Task[CheckReport | None]) -> None:
    # A check that ends after its probe answered has nobody else to read its error.
    if not task.cancelled():
        task.exception()


def _is_ready(outcome: object) -> bool:
    if isinstance(outcome, Mapping):
        return outcome.get("status") == READY
    return outcome == READY
