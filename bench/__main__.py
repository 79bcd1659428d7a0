"""Runs every benchmark on a private embedded PostgreSQL and Kafka and prints the figures.

make bench                      # everything (about four minutes)
python -m bench --seconds 5     # shorter runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg

from bench.loadgen import LoadResult, post_request, run_load
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.events import DomainEvent
from crm_shared.eventstore.mapper import CatalogMapper
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.master_key import MasterKey
from crm_shared.messaging.topics import ensure_topics
from crm_shared.privacy.cipher import (
    PREFIX,
    needs_sealing,
    new_data_key,
    reveal,
    seal,
    sealed_subjects,
)
from crm_shared.privacy.keyring import DataKeyring
from crm_shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = (1, 8, 32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PeakMemory:
    """Samples the resident memory of processes (and of their worker children) by name while
    a benchmark runs; a name's figure is the largest single process under it."""

    def __init__(self) -> None:
        self.watched: dict[str, psutil.Process] = {}
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        self.watched[name] = psutil.Process(pid)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            for name, process in list(self.watched.items()):
                try:
                    family = [process, *process.children(recursive=True)]
                    rss = max(p.memory_info().rss for p in family)
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak.get(name, 0), rss)

    def stop(self) -> None:
        self._stop.set()


def start_process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_http(url: str, timeout: float = 60) -> None:
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


def registration_body(n: int) -> bytes:
    return orjson.dumps(
        {
            "first_name": f"Bench{n}",
            "last_name": "Loadtest",
            "emails": [{"address": f"bench{n}@example.com"}],
            "phones": [{"number": "+14155550123"}],
            "tags": ["bench"],
            "job_title": "Buyer",
        }
    )


def impersonal_registration_body(n: int) -> bytes:
    """About the size and shape of ``registration_body``, its strings in fields that are not
    personal (custom fields marked so): none of its values needs sealing. (The event still
    carries empty emails, phones and addresses, which the mapper seals as of now.)"""
    return orjson.dumps(
        {
            "job_title": f"Buyer Bench{n}",
            "source": "Loadtest",
            "custom_fields": {
                "reference": {
                    "type": "string",
                    "value": f"bench{n}@example.com",
                    "personal": False,
                },
                "line": {"type": "string", "value": "+14155550123", "personal": False},
            },
            "tags": ["bench"],
        }
    )


Body = Callable[[int], bytes]
# What the cost of sealing compares: the usual registration, and one with nothing personal.
BODIES: dict[str, Body] = {
    "personal": registration_body,
    "not_personal": impersonal_registration_body,
}


def measure_registrations(
    port: int,
    token: str,
    seconds: float,
    clients: int,
    rate: float | None = None,
    body: Body = registration_body,
) -> LoadResult:
    headers = {"Authorization": f"Bearer {token}"}
    return asyncio.run(
        run_load(
            "127.0.0.1",
            port,
            lambda n: post_request("127.0.0.1", port, "/v1/contacts", body(n), headers),
            clients,
            seconds,
            rate_limit=rate,
        )
    )


def per_call_us(work: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1e6


def round_trip(mapper: CatalogMapper, event: DomainEvent) -> DomainEvent:
    return mapper.to_domain_event(mapper.to_stored_event(event))


def seal_and_open(keyring: DataKeyring, event: DomainEvent, data: dict[str, Any]) -> dict[str, Any]:
    """The sealing part of ``round_trip`` (given the event's data already dumped), as
    ``CatalogMapper`` does it."""
    personal = event.data.personal_fields()
    if needs_sealing(data, personal):
        subject = event.data.data_subject(event.originator_id)
        data = seal(
            data,
            personal,
            key=keyring.sealing_key(subject),
            service=keyring.service,
            subject=subject,
        )
    subjects = sealed_subjects(data, personal)
    return reveal(data, personal, keyring.lookup(subjects)) if subjects else data


def bench_sealing_in_process(calls: int) -> dict[str, Any]:
    """CPU per registration of ``CatalogMapper`` storing it and reading it back (with the
    sealing part on its own), for each body of the HTTP comparison; beside it what else
    differs between the two: a data key per new contact, and validating emails and phones."""
    from uuid import uuid4

    from crm_contacts.api.schemas import RegisterContact
    from crm_shared.catalog.contacts import ContactRegistered
    from crm_shared.events import EventMetadata

    subject = uuid4()
    keyring = DataKeyring("contacts", "contacts", MasterKey(os.urandom(32)))
    new_keys, _ = keyring.prepare_sync({subject})
    keyring.stored(new_keys, [])
    mapper = CatalogMapper(keyring)
    figures: dict[str, Any] = {
        "events": calls,
        "sealed_values": {},
        "mapper_us": {},
        "seal_open_us": {},
        "validation_us": {},
    }
    for label, body in BODIES.items():
        data = ContactRegistered.model_validate({**orjson.loads(body(1)), "department": "sales"})
        event = DomainEvent(
            originator_id=subject,
            originator_version=1,
            data=data,
            metadata=EventMetadata(actor="user:bench"),
        )
        if round_trip(mapper, event) != event:
            raise RuntimeError(f"the {label} registration does not read back as itself")
        # Counted, not assumed: what the mapper seals decides what is being compared.
        state = mapper.to_stored_event(event).state
        figures["sealed_values"][label] = state.count(PREFIX.encode())
        figures["mapper_us"][label] = per_call_us(partial(round_trip, mapper, event), calls)
        dumped = event.data.model_dump(mode="json")
        figures["seal_open_us"][label] = per_call_us(
            partial(seal_and_open, keyring, event, dumped), calls
        )
        figures["validation_us"][label] = per_call_us(
            partial(RegisterContact.model_validate_json, body(1)), calls
        )
    figures["new_data_key_us"] = per_call_us(lambda: keyring.wrapper.wrap(new_data_key()), calls)
    return figures


def print_sealing_in_process(figures: dict[str, Any]) -> None:
    print(f"  {'µs per registration':<36} {'personal':>9} {'not personal':>13}")
    rows = (
        ("values sealed (count)", "sealed_values"),
        ("store + read back (CatalogMapper)", "mapper_us"),
        ("  of which seal + open", "seal_open_us"),
        # Not sealing, but part of the HTTP difference: the personal body's emails, phones.
        ("request validation (RegisterContact)", "validation_us"),
    )
    for name, key in rows:
        personal, plain = figures[key]["personal"], figures[key]["not_personal"]
        print(f"  {name:<36} {personal:9,.1f} {plain:13,.1f}", flush=True)
    print(f"  {'new data key (generate + wrap)':<36} {figures['new_data_key_us']:9.1f}", flush=True)


def data_keys(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM contacts.data_keys").fetchone()
    assert row is not None
    return int(row[0])


def bench_sealing_http(
    database_url: str, port: int, token: str, seconds: float
) -> dict[int, dict[str, float]]:
    """Registrations/s with personal fields (sealed, a data key per contact, the 360 fetching
    keys from the contacts service) beside the same load with nothing personal. A client
    count's two runs follow each other, each from a caught-up 360: the disk's speed drifts
    from minute to minute, so only neighbours compare."""
    figures: dict[int, dict[str, float]] = {}
    for clients in CLIENTS:
        results: dict[str, LoadResult] = {}
        keys_made: dict[str, int] = {}
        for label, body in BODIES.items():
            wait_until(lambda: projection_caught_up(database_url))
            before = data_keys(database_url)
            results[label] = measure_registrations(port, token, seconds, clients, body=body)
            keys_made[label] = data_keys(database_url) - before
            if results[label].ok == 0:
                raise RuntimeError(f"no {label} registration succeeded")
        personal, plain = results["personal"], results["not_personal"]
        difference = (personal.rate / plain.rate - 1) * 100
        figures[clients] = {
            "personal": personal.rate,
            "not_personal": plain.rate,
            "difference_pct": difference,
            "data_keys_personal": keys_made["personal"],
            "data_keys_not_personal": keys_made["not_personal"],
        }
        print(
            f"  {clients:>3} clients: personal {personal.rate:8,.0f}/s"
            f" (p50 {personal.percentile(50) * 1000:5.1f} ms)"
            f"  not personal {plain.rate:8,.0f}/s (p50 {plain.percentile(50) * 1000:5.1f} ms)"
            f"  {difference:+6.1f} %  errors {personal.errors + plain.errors}"
            f"  data keys made {keys_made['personal']:,} / {keys_made['not_personal']:,}",
            flush=True,
        )
    if any(f["data_keys_not_personal"] for f in figures.values()):
        # Then the comparison is more personal data against less, not sealing against none.
        print(
            "  note: registrations without personal values were sealed and keyed too"
            " (their empty emails, phones, addresses count as personal values)",
            flush=True,
        )
    return figures


def bench_baselines(
    database_url: str, seconds: float, memory: PeakMemory, logs: Path
) -> dict[str, dict[int, float]]:
    figures: dict[str, dict[int, float]] = {}
    for mode in ("plain", "batched"):
        port = free_port()
        env = {**os.environ, "BASELINE_DATABASE_URL": database_url, "BASELINE_MODE": mode}
        process = start_process(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "bench.baseline_app:create_app",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env,
            logs / f"baseline-{mode}.log",
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/docs")
            memory.watch(f"baseline ({mode})", process.pid)
            figures[mode] = {}
            for clients in CLIENTS:
                result = measure_registrations(port, "", seconds, clients)
                figures[mode][clients] = result.rate
                print(
                    f"  baseline {mode:<8} {clients:>3} clients: {result.rate:8,.0f} writes/s"
                    f"  p50 {result.percentile(50) * 1000:6.1f} ms  p99 {result.percentile(99) * 1000:6.1f} ms"
                    f"  errors {result.errors}",
                    flush=True,
                )
        finally:
            stop(process)
    return figures


def outbox_drained(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(max(notification_id), 0) FROM contacts.contacts_events),"
            " (SELECT coalesce(max(position), 0) FROM contacts.relay_positions)"
        ).fetchone()
    assert row is not None
    return bool(row[0] == row[1])


def projection_caught_up(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM contacts.contacts_events WHERE topic LIKE 'crm.contacts.contact.%%'),"
            " (SELECT coalesce(sum(version), 0) FROM projections.applied_versions WHERE consumer = 'customer360'"
            "  AND aggregate_id IN (SELECT contact_id::text FROM projections.customers))"
        ).fetchone()
    assert row is not None
    return bool(row[0] <= row[1])


def wait_until(predicate: Any, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting")
        time.sleep(0.2)


def latency_percentiles(database_url: str, tag: str) -> dict[str, float]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY"
            " extract(epoch FROM projected_at - created_at)), count(*)"
            " FROM projections.customers WHERE tags @> ARRAY[%s]",
            (tag,),
        ).fetchone()
    assert row is not None
    p50, p95, p99 = row[0]
    return {"p50_ms": p50 * 1000, "p95_ms": p95 * 1000, "p99_ms": p99 * 1000, "count": row[1]}


def search_latencies(port: int, token: str, requests: int = 200) -> dict[str, float]:
    """Sequential searches by name fragment: what a user typing in a search box causes."""
    latencies = []
    total = 0
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for n in range(requests):
            started = time.perf_counter()
            answer = client.get("/v1/customers", params={"q": f"r{n % 50}", "limit": 50})
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
            total = max(total, answer.json()["total"])
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "total": total,
    }


def sealed_in_the_360(database_url: str) -> tuple[int, int, str | None]:
    """Customer documents, how many still hold a sealed value, and one first name: a consumer
    that gets no data keys from the contacts service keeps the sealed strings."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE doc::text LIKE %s),"
            " min(doc #>> '{profile,first_name}') FROM projections.customers",
            (f"%{PREFIX}%",),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), row[2]


def top_up_events(database_url: str, target: int) -> int:
    """Stores generated contact events straight into the event store until ``target``."""
    from uuid import uuid4

    from crm_contacts.application import SCHEMA, ContactsEventStore
    from crm_contacts.domain.contact import Contact
    from crm_shared.catalog.contacts import ContactRegistered
    from crm_shared.events import EventMetadata
    from crm_shared.values import Channel, Direction, Email

    store = ContactsEventStore(database_url, SCHEMA, Settings(embedded=True).key_wrapper())
    try:
        existing = store.recorder.max_notification_id() or 0
        missing = target - existing
        meta = EventMetadata(actor="user:bench")
        while missing > 0:
            events = []
            for i in range(min(missing // 4 + 1, 250)):
                contact = Contact.register(
                    uuid4(),
                    ContactRegistered(
                        first_name=f"R{i}",
                        last_name="Rebuild",
                        department="sales",
                        emails=[Email(address=f"r{i}@example.com")],
                        tags=["rebuild"],
                    ),
                )
                contact.update({"job_title": "Engineer"})
                for _ in range(2):
                    contact.log_interaction(
                        interaction_id=uuid4(),
                        channel=Channel.EMAIL,
                        direction=Direction.INBOUND,
                        subject="Hello",
                        notes=None,
                        occurred_at=contact.created_on,
                        by="bench",
                    )
                for event in contact.collect_events():
                    event.metadata = meta
                    events.append(event)
            store.append(events)
            missing -= len(events)
        return store.recorder.max_notification_id() or 0
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="duration of each throughput run"
    )
    parser.add_argument("--rebuild-events", type=int, default=100_000)
    parser.add_argument(
        "--sealing-events",
        type=int,
        default=20_000,
        help="events of the in-process sealing micro-benchmark",
    )
    args = parser.parse_args()

    logs = ROOT / "bench" / "out"
    logs.mkdir(parents=True, exist_ok=True)
    memory = PeakMemory()
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": next(
                (
                    line.split(":", 1)[1].strip()
                    for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")
                ),
                platform.processor(),
            ),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        }
    }
    print(f"machine: {report['machine']}", flush=True)

    # First, while nothing else runs on the machine: it measures CPU only.
    print(f"\nsealing personal data, in process, per registration ({args.sealing_events:,}):")
    report["sealing"] = {"in_process": bench_sealing_in_process(args.sealing_events)}
    print_sealing_in_process(report["sealing"]["in_process"])

    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    kafka = EmbeddedKafka(free_port(), log_file=logs / "tansu.log")
    services: list[subprocess.Popen[bytes]] = []
    try:
        postgres.start()
        postgres.create_database("bench")
        database_url = postgres.database_url("bench")
        kafka.start()
        asyncio.run(ensure_topics(kafka.bootstrap_servers, 4))
        memory.watch("postgres", int((postgres.data_dir / "postmaster.pid").read_text().split()[0]))

        print("\nregistrations per second over HTTP (durable commits):", flush=True)
        report["baseline"] = bench_baselines(database_url, args.seconds, memory, logs)

        contacts_port, projections_port = free_port(), free_port()
        env = {
            **os.environ,
            "CRM_DATABASE_URL": database_url,
            "CRM_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "CRM_CONTACTS_PORT": str(contacts_port),
            "CRM_PROJECTIONS_PORT": str(projections_port),
            # Consumers (the projections service, the rebuild) fetch data keys from the
            # contacts service: named outright, whatever CRM_HOST the environment has.
            "CRM_SERVICE_URLS": json.dumps({"contacts": f"http://127.0.0.1:{contacts_port}"}),
            "CRM_LOG_LEVEL": "WARNING",
            "CRM_EMBEDDED": "true",  # its own embedded PostgreSQL and broker, as `crm up`
        }
        settings = Settings()
        token = issue_token(settings, principal_id="bench", role=Role.ADMIN, departments=["sales"])
        crm = str(Path(sys.executable).parent / "crm")
        for name in ("contacts", "projections"):
            process = start_process([crm, "serve", name], env, logs / f"{name}.log")
            services.append(process)
            memory.watch(f"{name} service", process.pid)
        wait_http(f"http://127.0.0.1:{contacts_port}/readyz")
        wait_http(f"http://127.0.0.1:{projections_port}/readyz")

        report["crm"] = {}
        for clients in CLIENTS:
            result = measure_registrations(contacts_port, token, args.seconds, clients)
            report["crm"][clients] = result.rate
            print(
                f"  crm contacts      {clients:>3} clients: {result.rate:8,.0f} writes/s"
                f"  p50 {result.percentile(50) * 1000:6.1f} ms  p99 {result.percentile(99) * 1000:6.1f} ms"
                f"  errors {result.errors}",
                flush=True,
            )

        sizes = {label: len(body(10**6)) for label, body in BODIES.items()}
        print(
            "\ncost of sealing personal data, registrations per second over HTTP"
            f" (bodies of {sizes['personal']} and {sizes['not_personal']} bytes):",
            flush=True,
        )
        report["sealing"]["http"] = bench_sealing_http(
            database_url, contacts_port, token, args.seconds
        )
        report["sealing"]["body_bytes"] = sizes

        wait_until(lambda: projection_caught_up(database_url))
        print("\nevent-to-360 latency at 200 commands/s:", flush=True)
        tag = "latency"
        headers = {"Authorization": f"Bearer {token}"}

        def tagged(n: int) -> bytes:
            body = orjson.loads(registration_body(n))
            body["tags"] = [tag]
            return post_request(
                "127.0.0.1", contacts_port, "/v1/contacts", orjson.dumps(body), headers
            )

        paced = asyncio.run(
            run_load("127.0.0.1", contacts_port, tagged, 16, max(args.seconds, 10), rate_limit=200)
        )
        wait_until(lambda: projection_caught_up(database_url))
        latency = latency_percentiles(database_url, tag)
        report["latency"] = {**latency, "rate": paced.rate}
        print(
            f"  {paced.rate:.0f} commands/s sent; {latency['count']} contacts: p50 {latency['p50_ms']:.1f} ms,"
            f" p95 {latency['p95_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms",
            flush=True,
        )

        print(f"\ncustomer-360 rebuild over at least {args.rebuild_events:,} events:", flush=True)
        total = top_up_events(database_url, args.rebuild_events)
        wait_until(lambda: outbox_drained(database_url))
        rebuild = subprocess.Popen(
            [crm, "projections", "rebuild", "customer360"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        memory.watch("rebuild (crm projections rebuild)", rebuild.pid)
        output = rebuild.communicate()[0].decode()
        if rebuild.returncode != 0:
            raise RuntimeError(f"crm projections rebuild failed:\n{output}")
        print(f"  {total:,} events in the store; {output.strip().splitlines()[-1]}", flush=True)
        documents, sealed, first_name = sealed_in_the_360(database_url)
        if sealed or first_name is None or first_name.startswith(PREFIX):
            raise RuntimeError(
                f"the rebuilt 360 did not open personal data: {sealed:,} of {documents:,}"
                f" documents hold sealed values (first name {first_name!r})"
            )
        print(f"  {documents:,} documents, none sealed (first name {first_name!r})", flush=True)
        report["rebuild"] = {
            "events": total,
            "output": output.strip().splitlines()[-1],
            "documents": documents,
            "sealed_documents": sealed,
        }

        print("\ncustomer-360 search latency, unscoped (admin) vs department-scoped (sales rep):")
        wait_until(lambda: projection_caught_up(database_url))
        report["search"] = {}
        for label, role in (("admin", Role.ADMIN), ("sales_rep", Role.SALES_REP)):
            caller = issue_token(settings, principal_id="bench", role=role, departments=["sales"])
            timings = search_latencies(projections_port, caller)
            report["search"][label] = timings
            print(
                f"  {label:<10} p50 {timings['p50_ms']:.1f} ms  p99 {timings['p99_ms']:.1f} ms"
                f"  ({timings['total']:,} customers match)",
                flush=True,
            )
    finally:
        memory.stop()
        for process in services:
            stop(process)
        kafka.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("\npeak resident memory:")
    for name, peak in sorted(memory.peak.items()):
        print(f"  {name:<36} {peak / 2**20:7.0f} MB")
    report["peak_memory_mb"] = {k: round(v / 2**20) for k, v in memory.peak.items()}
    (logs / "results.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
