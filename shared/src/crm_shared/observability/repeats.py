"""Fewer lines for the same failure: a client library that retries every 100 ms while the
broker is down would otherwise log an error per attempt, tens of lines a second.

The first record of a run of like records (same logger, same message template) goes
through at once, so the failure is seen when it starts; the next one after ``first``
seconds, then after twice as long each time, at most every ``longest`` seconds, each saying
how many it stands for. A run ends after ``quiet`` seconds without a like record (the
dependency is back), and the next failure is reported at once again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Run:
    last_seen: float
    next_at: float
    interval: float
    suppressed: int = 0


class RepeatedRecordsFilter(logging.Filter):
    def __init__(
        self,
        loggers: tuple[str, ...],
        *,
        first: float = 1.0,
        longest: float = 60.0,
        quiet: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.loggers = loggers
        self.first = first
        self.longest = longest
        self.quiet = quiet
        self.clock = clock
        self._runs: dict[tuple[str, str], _Run] = {}
        self._lock = threading.Lock()

    def _applies_to(self, name: str) -> bool:
        return any(name == logger or name.startswith(f"{logger}.") for logger in self.loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._applies_to(record.name):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            run = self._runs.get(key)
            if run is None or now - run.last_seen >= self.quiet:
                self._runs[key] = _Run(last_seen=now, next_at=now + self.first, interval=self.first)
                return True
            run.last_seen = now
            if now < run.next_at:
                run.suppressed += 1
                return False
            suppressed, run.suppressed = run.suppressed, 0
            run.interval = min(run.interval * 2, self.longest)
            run.next_at = now + run.interval
        if suppressed:
            record.msg = f"{record.getMessage()} (and {suppressed} more like it, not shown)"
            record.args = None
            record.suppressed = suppressed
        return True
