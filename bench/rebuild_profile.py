"""A customer-360 rebuild measured in CPU time per event, process by process.

    python -m bench.rebuild_profile [--events 100000] [--rounds 1] [--py-spy out.txt]

Starts a private embedded PostgreSQL and broker and the contacts service (whose relay
publishes, and whose key endpoint the rebuild asks for data keys), stores the rebuild's
mix of events (``bench.__main__.top_up_events``: per contact a registration with name
and email sealed, a job-title change and two interactions), then runs
`crm projections rebuild customer360` and reports, per event, the CPU each process
spent on it: the rebuild itself, PostgreSQL (every backend, exited ones included), the
broker and the contacts service. CPU, not wall clock: on a shared machine the wall clock
says more about the neighbours than about the code. Also the rebuild's peak resident
memory. ``--py-spy`` records the rebuild with py-spy (collapsed stacks, on-CPU samples)
and prints where its time goes by stage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

from bench.queries import top_up_events
from bench.stack import (
    ROOT,
    free_port,
    outbox_drained,
    start_process,
    stop,
    wait_http,
    wait_until,
)
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.messaging.topics import ensure_topics


def family_cpu(pid: int) -> float:
    """CPU seconds of a process, its live children and every child it has reaped."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = float(times.user + times.system + times.children_user + times.children_system)
    for child in root.children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


class Sampler:
    """Peak resident memory and CPU time of a process (py-spy left out), sampled every
    50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                family = [self.process, *self.process.children(recursive=True)]
                family = [p for p in family if p.name() != "py-spy"]
                self.peak = max([self.peak, *(p.memory_info().rss for p in family)])
                self.cpu = max(self.cpu, sum(sum(p.cpu_times()[:2]) for p in family))
            except (psutil.Error, ValueError):
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# Where a py-spy sample's time goes: the first stage whose marker is in its stack,
# looking from the innermost frame outwards.
STAGES = (
    ("start-up (imports)", ("importlib",)),
    ("log check", ("log_check.py",)),
    ("key lookups (HTTP)", ("keys_for", "_fetch (crm_shared/privacy")),
    ("opening sealed values", ("cipher.py",)),
    ("validation", ("model_validate",)),
    ("envelope (headers, UUIDs, time)", ("read_attributes",)),
    ("data JSON", ("read_data",)),
    ("decode, other", ("decoding.py",)),
    ("fold", ("documents.py",)),
    ("JSON for the database", ("_json (crm_projections",)),
    ("SQL (psycopg)", ("psycopg",)),
    ("applied versions, offsets", ("consumer_state.py",)),
    ("fetch (aiokafka)", ("aiokafka",)),
)


def stages(collapsed: Path) -> Counter[str]:
    spent: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        for frame in reversed(frames):
            stage = next((s for s, markers in STAGES if any(m in frame for m in markers)), None)
            if stage is not None:
                break
        else:
            stage = "other (event loop, garbage collection, start-up)"
        spent[stage] += int(count)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1, help="rebuilds over the same events")
    parser.add_argument("--py-spy", type=Path, help="record the last round's rebuild to this file")
    parser.add_argument("--batch", type=int, help="CRM_CONSUMER_BATCH_SIZE for the rebuild")
    parser.add_argument(
        "--hold",
        type=Path,
        help="keep the stack up after the rounds, described in this file, until interrupted",
    )
    parser.add_argument("--stack", type=Path, help="measure on the stack a --hold describes")
    args = parser.parse_args()
    if args.stack:
        stack = json.loads(args.stack.read_text())
        measure(args, stack["env"], stack["watched"], stack["events"])
        return

    logs = ROOT / "bench" / "out"
    logs.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-rebuild-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    kafka = EmbeddedKafka(free_port(), log_file=logs / "tansu-rebuild.log")
    contacts: subprocess.Popen[bytes] | None = None
    try:
        postgres.start()
        postgres.create_database("bench")
        database_url = postgres.database_url("bench")
        kafka.start()
        asyncio.run(ensure_topics(kafka.bootstrap_servers, 4))
        port = free_port()
        env = {
            **os.environ,
            "CRM_DATABASE_URL": database_url,
            "CRM_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "CRM_CONTACTS_PORT": str(port),
            "CRM_SERVICE_URLS": json.dumps({"contacts": f"http://127.0.0.1:{port}"}),
            "CRM_LOG_LEVEL": "WARNING",
            "CRM_EMBEDDED": "true",
        }
        crm = str(Path(sys.executable).parent / "crm")
        contacts = start_process([crm, "serve", "contacts"], env, logs / "contacts-rebuild.log")
        wait_http(f"http://127.0.0.1:{port}/readyz")
        total = top_up_events(database_url, args.events)
        wait_until(lambda: outbox_drained(database_url), timeout=900)
        time.sleep(1)  # the relay's last batch on its way to the broker
        postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
        broker = kafka.pid()
        assert broker is not None
        watched = {"postgres": postmaster, "broker": broker, "contacts": contacts.pid}
        print(f"{total:,} events stored", flush=True)
        measure(args, env, watched, total)
        if args.hold:
            args.hold.write_text(json.dumps({"env": env, "watched": watched, "events": total}))
            print(f"stack up, described in {args.hold}; interrupt to stop it", flush=True)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        if contacts is not None:
            stop(contacts)
        kafka.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure(
    args: argparse.Namespace, env: dict[str, str], watched: dict[str, int], total: int
) -> None:
    if args.batch:
        env = {**env, "CRM_CONSUMER_BATCH_SIZE": str(args.batch)}
    crm = str(Path(sys.executable).parent / "crm")
    for round_ in range(args.rounds):
        argv = [crm, "projections", "rebuild", "customer360"]
        spying = args.py_spy is not None and round_ == args.rounds - 1
        if spying:
            spy = str(Path(sys.executable).parent / "py-spy")
            argv = [
                spy,
                "record",
                "-r",
                "200",
                "-f",
                "raw",
                "--idle",
                "-o",
                str(args.py_spy),
                "--",
                *argv,
            ]
        before = {name: family_cpu(pid) for name, pid in watched.items()}
        children = os.times()
        rebuild = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        memory = Sampler(rebuild.pid)
        output = rebuild.communicate()[0].decode()
        memory.stop()
        after_children = os.times()
        spent = {name: family_cpu(pid) - before[name] for name, pid in watched.items()}
        # Exact from the kernel once it exited, unless py-spy's own CPU is in there too.
        spent["rebuild"] = (
            memory.cpu
            if spying
            else (
                (after_children.children_user - children.children_user)
                + (after_children.children_system - children.children_system)
            )
        )
        if rebuild.returncode != 0:
            raise RuntimeError(f"rebuild failed:\n{output}")
        print(next(line for line in output.splitlines() if line.startswith("rebuilt")))
        print(f"CPU per event (us), machine {'busy' if os.getloadavg()[0] > 1 else 'quiet'}:")
        for name, seconds in spent.items():
            print(f"  {name:<10} {seconds / total * 1e6:7.1f}")
        print(f"  {'all':<10} {sum(spent.values()) / total * 1e6:7.1f}")
        print(f"rebuild peak RSS {memory.peak / 2**20:.0f} MB")
        if spying:
            assert args.py_spy is not None
            samples = stages(args.py_spy)
            whole = sum(samples.values())
            print(f"rebuild process by stage ({whole} samples):")
            share = spent["rebuild"] / total * 1e6 / whole
            for stage, count in samples.most_common():
                print(f"  {stage:<48} {count * share:6.1f} us  {count / whole:5.1%}")


if __name__ == "__main__":
    main()
