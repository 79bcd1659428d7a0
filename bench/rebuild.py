"""The customer-360 rebuild (`crm projections rebuild customer360`) timed as the command
reports it, with the CPU every process used while it was rebuilding: which one limited it."""

from __future__ import annotations

import re
import resource
import subprocess
import time
from typing import Any

from bench import queries
from bench.cpu import TICKS_PER_SECOND, Groups, Snapshot, snapshot, usage
from bench.report import rebuild_limit
from bench.stack import ROOT, PeakMemory, crm_command
from crm_shared.privacy.cipher import PREFIX

REPORTED = re.compile(r"(\d+) events in ([\d.]+) s")
PROCESSES = re.compile(r"(\d+) process")


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def rebuild(
    env: dict[str, str], groups: Groups, memory: PeakMemory, database_url: str
) -> dict[str, Any]:
    """Runs the rebuild, checks the 360 opened every personal field, returns its figures."""
    cpu_before = children_cpu()
    started = time.monotonic()
    samples: list[tuple[float, Snapshot]] = [(started, snapshot({**groups, "rebuild": []}))]
    process = subprocess.Popen(
        [crm_command(), "projections", "rebuild", "customer360"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    memory.watch("rebuild (crm projections rebuild)", process.pid)
    # Sampled while it runs: the process starts (imports, connects, drops the read model)
    # before it rebuilds, and only the rebuilding is what its own figure times.
    watched = {**groups, "rebuild": [process.pid]}
    while process.poll() is None:
        samples.append((time.monotonic(), snapshot(watched)))
        time.sleep(0.5)
    output = process.communicate()[0].decode()
    ended = time.monotonic()
    rebuild_cpu = children_cpu() - cpu_before
    if process.returncode != 0:
        raise RuntimeError(f"crm projections rebuild failed:\n{output}")
    last = output.strip().splitlines()[-1]
    found = REPORTED.search(last)
    if found is None:
        raise RuntimeError(f"crm projections rebuild said no figure:\n{output}")
    events, took = int(found[1]), float(found[2])
    processes = int(counted[1]) if (counted := PROCESSES.search(last)) else 1
    # From the sample nearest the moment the rebuilding began to the end.
    at, before = min(samples, key=lambda sample: abs(sample[0] - (ended - took)))
    window = ended - at
    rebuild_cpu -= before.ticks.get("rebuild", 0) / TICKS_PER_SECOND
    cpu = usage(before, snapshot({**groups, "rebuild": []}), window, {"rebuild": rebuild_cpu})

    documents, sealed, first_name = queries.sealed_in_the_360(database_url)
    if sealed or first_name is None or first_name.startswith(PREFIX):
        raise RuntimeError(
            f"the rebuilt 360 did not open personal data: {sealed:,} of {documents:,}"
            f" documents hold sealed values (first name {first_name!r})"
        )
    shares = {
        "rebuild processes": rebuild_cpu,
        "postgres (all)": sum(s for g, s in cpu.seconds.items() if g.startswith("postgres")),
        **{g: s for g, s in cpu.seconds.items() if not g.startswith(("postgres", "rebuild"))},
    }
    return {
        "events": events,
        "seconds": took,
        "process_seconds": round(ended - started, 2),
        "cpu_window_s": round(window, 2),
        "other_cpu_s": round(cpu.other, 2),
        "events_per_s": events / took if took else 0.0,
        "output": last,
        "documents": documents,
        "cpu_s": {g: round(s, 2) for g, s in shares.items()},
        "processes": processes,
        "limit": rebuild_limit(shares, window, cpu.other, processes=processes),
    }
