"""Keeps the processes of `crm up` running: whichever dies is started again, after a
growing pause, and the others carry on.

The core is free of processes and clocks of its own: a child is described by a few
callables (``ChildSpec``) and time is passed in, so the policy is tested with fakes.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ChildSpec:
    """One process the supervisor keeps running."""

    name: str
    # Returns once the child runs (for a server: once it listens); raises if it cannot.
    start: Callable[[], None]
    # None while the child runs; once it ended, its exit code (negative: the signal).
    exit_status: Callable[[], int | None]
    stop: Callable[[], None]
    pid: Callable[[], int | None]


@dataclass(frozen=True)
class Backoff:
    """How long to wait before starting a child again: ``first``, then ``factor`` times
    longer after each failure in a row, at most ``longest``. A child that stayed up
    ``stable_after`` seconds starts the count again, so a crash a day restarts at once."""

    first: float = 0.5
    factor: float = 2.0
    longest: float = 30.0
    stable_after: float = 30.0

    def delay(self, failures: int) -> float:
        """The pause before the next start, after ``failures`` (>= 1) failures in a row."""
        return min(self.first * self.factor ** max(failures - 1, 0), self.longest)


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"exit code {status}"


class StartFailed(Exception):
    """A child could not start the first time."""


@dataclass
class _Watched:
    spec: ChildSpec
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None  # set while the child is down


class Supervisor:
    """Starts children in order, restarts whichever died, stops them in reverse order."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        backoff: Backoff | None = None,
        report: Callable[[str], None] = print,
        on_restart: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._watched = [_Watched(spec) for spec in children]
        self.backoff = backoff or Backoff()
        self.report = report
        self.on_restart = on_restart
        self.clock = clock
        self._started: list[_Watched] = []

    def start_all(self) -> None:
        """Starts every child in order; a child that cannot start the first time is an
        error to report (a port in use, say), not something to retry."""
        for watched in self._watched:
            self._started.append(watched)
            try:
                watched.spec.start()
            except Exception as error:
                raise StartFailed(
                    f"{watched.spec.name} did not start ({type(error).__name__}: {error})"
                ) from error
            watched.started_at = self.clock()

    def down(self) -> list[str]:
        """The children that have ended and are not yet running again."""
        return [w.spec.name for w in self._watched if w.spec.exit_status() is not None]

    def check(self) -> None:
        """One round: notices children that ended, starts again those whose pause is over."""
        for watched in self._watched:
            if watched.restart_at is None:
                self._notice_exit(watched)
            elif self.clock() >= watched.restart_at:
                self._restart(watched)

    def _notice_exit(self, watched: _Watched) -> None:
        status = watched.spec.exit_status()
        if status is None:
            return
        now = self.clock()
        if now - watched.started_at >= self.backoff.stable_after:
            watched.failures = 0
        watched.failures += 1
        delay = self.backoff.delay(watched.failures)
        watched.restart_at = now + delay
        self.report(
            f"{watched.spec.name} (pid {watched.spec.pid()}) ended with {describe_exit(status)};"
            f" starting it again in {delay:.1f} s"
        )

    def _restart(self, watched: _Watched) -> None:
        try:
            watched.spec.start()
        except Exception as error:
            watched.failures += 1
            delay = self.backoff.delay(watched.failures)
            watched.restart_at = self.clock() + delay
            self.report(
                f"{watched.spec.name} did not start ({type(error).__name__}: {error});"
                f" next attempt in {delay:.1f} s"
            )
            return
        watched.started_at = self.clock()
        watched.restart_at = None
        self.report(f"{watched.spec.name} started again (pid {watched.spec.pid()})")
        try:
            self.on_restart()
        except Exception as error:  # the children matter more than the notice
            self.report(f"after restarting {watched.spec.name}: {type(error).__name__}: {error}")

    def run(self, interval: float = 0.5) -> None:
        """Supervises until interrupted (KeyboardInterrupt, raised by the signal handlers)."""
        while True:
            self.check()
            time.sleep(interval)

    def stop_all(self) -> None:
        """Stops what was started, last first: services before the broker and database."""
        for watched in reversed(self._started):
            try:
                watched.spec.stop()
            except Exception as error:  # stop the rest regardless
                self.report(f"{watched.spec.name} did not stop cleanly: {error}")
        self._started.clear()
