"""The processes a benchmark runs (embedded PostgreSQL and broker, the CRM's services as
`crm up` runs them) and what the bench asks of them: are they up, caught up, who is who.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg

from crm_shared.messaging.topics import events_topic

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(predicate: Callable[[], bool], timeout: float = 300) -> float:
    """Seconds it took for ``predicate`` to hold."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise RuntimeError("timed out waiting")
        time.sleep(0.2)
    return time.monotonic() - started


def tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def uvicorn_workers(supervisor: int) -> list[int]:
    """The worker processes uvicorn's supervisor spawned (not its resource tracker)."""
    try:
        children = psutil.Process(supervisor).children()
    except psutil.NoSuchProcess:
        return []
    return [c.pid for c in children if "spawn_main" in " ".join(c.cmdline())]


def local_port_owners() -> dict[int, int]:
    """Local TCP port -> the process whose socket it is (to tell PostgreSQL backends apart
    by the client at the other end)."""
    return {
        c.laddr.port: c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.pid is not None and c.laddr and c.raddr
    }


def backends_by_client(database_url: str) -> dict[int, int | None]:
    """PostgreSQL backend pid -> client process pid (None: not a local TCP client)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, client_port FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    owners = local_port_owners()
    return {int(pid): owners.get(port) if port else None for pid, port in rows}


def relay_leader_backend(database_url: str, service: str) -> int | None:
    """The backend holding the service's relay leader lock (the session advisory lock of
    crm_shared.messaging.relay): its client is the worker that runs the relay."""
    key = f"crm-relay:{events_topic(service)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint)"
            " = hashtext(%s)::bigint",
            (key,),
        ).fetchone()
    return int(row[0]) if row else None


@dataclass
class Service:
    """A service process started as `crm up` starts it (`crm serve NAME`)."""

    name: str
    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class ProcessMap:
    """Which process is what, for CPU accounting: service processes by role, PostgreSQL's
    backends by the service they serve, the broker. Resolved again at each end of a window
    (pools open connections, workers may restart)."""

    database_url: str
    postmaster: int
    broker: int | None
    services: dict[str, int] = field(default_factory=dict)  # label -> supervisor pid
    single_process: set[str] = field(default_factory=set)  # labels with no worker split

    def groups(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        owner_of: dict[int, str] = {}  # process -> the group of the service it belongs to
        leader_client = None
        if "contacts" in self.services:
            leader = relay_leader_backend(self.database_url, "contacts")
            if leader is not None:
                leader_client = backends_by_client(self.database_url).get(leader)
        for label, supervisor in self.services.items():
            workers = [] if label in self.single_process else uvicorn_workers(supervisor)
            family = tree(supervisor)
            if not workers:
                groups[label] = family
                owner_of.update(dict.fromkeys(family, label))
                continue
            rest = [pid for pid in family if pid not in workers]
            groups[f"{label}: supervisor"] = rest
            owner_of.update(dict.fromkeys(rest, label))
            for n, pid in enumerate(sorted(workers), 1):
                role = " (relay leader)" if pid == leader_client else ""
                groups[f"{label}: worker {n}{role}"] = [pid]
                owner_of[pid] = label
        claimed: set[int] = set()
        for backend, client in backends_by_client(self.database_url).items():
            served = owner_of.get(client) if client is not None else None
            if served is not None:
                groups.setdefault(f"postgres: backends of {served}", []).append(backend)
                claimed.add(backend)
        # The postmaster's own tree minus the backends named above: WAL writer,
        # checkpointer, the bench's own queries, and every backend that ended (reaped).
        groups["postgres: the rest"] = [p for p in tree(self.postmaster) if p not in claimed]
        if self.broker is not None:
            groups["broker (Tansu)"] = tree(self.broker)
        return groups


class PeakMemory:
    """Samples the resident memory of processes (and of their worker children) by name
    while a benchmark runs; a name's figure is the largest single process under it."""

    def __init__(self) -> None:
        self.watched: dict[str, psutil.Process] = {}
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        self.watched[name] = psutil.Process(pid)

    def reset(self) -> None:
        self.peak.clear()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            for name, process in list(self.watched.items()):
                rss = largest_rss(process)
                if rss:
                    self.peak[name] = max(self.peak.get(name, 0), rss)

    def stop(self) -> None:
        self._stop.set()


def largest_rss(process: psutil.Process) -> int:
    """The largest resident set among a process and its children (per worker, not summed:
    the target is per service process)."""
    try:
        family = [process, *process.children(recursive=True)]
        return int(max(p.memory_info().rss for p in family))
    except psutil.Error:
        return 0


def crm_env(database_url: str, bootstrap: str, ports: dict[str, int]) -> dict[str, str]:
    return {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        **{f"CRM_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        # Consumers (the projections service, the rebuild) fetch data keys from the
        # contacts service: named outright, whatever CRM_HOST the environment has.
        "CRM_SERVICE_URLS": json.dumps({"contacts": f"http://127.0.0.1:{ports['contacts']}"}),
        "CRM_LOG_LEVEL": "WARNING",
        "CRM_EMBEDDED": "true",  # its own embedded PostgreSQL and broker, as `crm up`
    }


def crm_command() -> str:
    return str(Path(sys.executable).parent / "crm")


def serve(name: str, env: dict[str, str], port: int, logs: Path) -> Service:
    process = start_process([crm_command(), "serve", name], env, logs / f"{name}.log")
    return Service(name, process, f"http://127.0.0.1:{port}")


# What the read side has caught up with, from the databases' own records.


def outbox_drained(database_url: str, service: str = "contacts") -> bool:
    """Whether the service's relay has published everything its event store holds."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"SELECT (SELECT coalesce(max(notification_id), 0) FROM {service}.{service}_events),"
            f" (SELECT coalesce(max(position), 0) FROM {service}.relay_positions)"
        ).fetchone()
    assert row is not None
    return bool(row[0] == row[1])


def projection_caught_up(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM contacts.contacts_events WHERE topic LIKE 'crm.contacts.contact.%%'),"
            " (SELECT coalesce(sum(version), 0) FROM projections.applied_versions_by_topic WHERE consumer = 'customer360'"
            "  AND aggregate_id IN (SELECT contact_id::text FROM projections.customers))"
        ).fetchone()
    assert row is not None
    return bool(row[0] <= row[1])


def caught_up(database_url: str) -> bool:
    return outbox_drained(database_url) and projection_caught_up(database_url)
