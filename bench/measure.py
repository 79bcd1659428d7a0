"""One measured point: warm up, let the read side catch up, then wrk for a fixed time with
the CPU of every process counted from its start until the read side has caught up with
what the load wrote (so a command's CPU includes its relay and its projection)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.cpu import snapshot, usage
from bench.stack import ProcessMap, wait_until
from bench.wrk import Load, Wrk, WrkResult


def measure(
    wrk: Wrk,
    load: Load,
    connections: int,
    seconds: int,
    processes: ProcessMap,
    settled: Callable[[], bool] | None = None,
    warmup: int = 2,
    during: Callable[[int], Callable[[], Any]] | None = None,
) -> tuple[dict[str, Any], Any]:
    """The point's figures (JSON-ready) and, when ``during`` is given, what it returned:
    ``during(pid_of_wrk)`` starts something beside the load (a profiler) and returns the
    function that finishes it."""
    if warmup > 0:
        wrk.run(load, connections, warmup)
    if settled:
        wait_until(settled)
    before = snapshot(processes.groups())
    started = time.monotonic()
    run = wrk.start(load, connections, seconds)
    finish_beside = during(run.pid) if during else None
    result: WrkResult = run.finish()
    loaded = time.monotonic() - started
    drain = wait_until(settled) if settled else 0.0
    window = time.monotonic() - started
    cpu = usage(
        before, snapshot(processes.groups()), window, {"wrk (load generator)": result.client_cpu_s}
    )
    beside = finish_beside() if finish_beside else None
    point = {
        "wrk": result.as_dict(),
        "window_s": round(window, 2),
        "load_s": round(loaded, 2),
        "drain_s": round(drain, 2),
        "cpu_s": {name: round(s, 3) for name, s in cpu.seconds.items()},
        "cpu_us_per_command": {
            name: round(us, 1) for name, us in cpu.per_command_us(result.ok).items()
        },
        "other_cpu_s": round(cpu.other, 3),
        "processes": cpu.members,
    }
    return point, beside
