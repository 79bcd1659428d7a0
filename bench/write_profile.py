"""Where a registration's CPU goes: CPU time per command, per process and per stage.

    python -m bench.write_profile --connections 32 --seconds 15 [--py-spy]
    python -m bench.write_profile --target plain      # the peer, for comparison
    python -m bench.write_profile --server uvicorn    # the contacts service on uvicorn
    python -m bench.write_profile --compare granian uvicorn [--target plain]   # A/B

Starts a private embedded PostgreSQL and broker, then the contacts and projections services
as `crm serve` runs them (or a peer from ``bench.baseline_app``), drives ``POST
/v1/contacts`` with ``wrk`` (unique e-mail per request), waits until the relay and the
projections have caught up, and divides each process's CPU time (user + system, from
/proc) by the commands stored. CPU time is what this reports, not requests per second: on
a machine shared with other work, CPU per command moves far less than wall-clock figures.

With ``--py-spy`` the contacts workers are sampled during the run and each sample is put
in a stage by the innermost frame that names one (see ``STAGES``). py-spy sees Python
threads only: Granian's HTTP work runs in its own (Rust) threads, so the workers' CPU is
also split by thread, and the stages share out only what the Python threads used.

``--server`` picks the HTTP server of the contacts service or of the peer: ``uvicorn``
(with httptools, what `crm serve` runs) or ``granian`` (a dev dependency, for comparison),
so that a gain can be told apart as the server's or the application's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import psycopg

from bench.peers import prepare, uvicorn_argv
from bench.stack import free_port, outbox_drained, stop, wait_http
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.service import installed_services
from crm_shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

WRK_SCRIPT = """
local counter = 0
local thread_id = 0
local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local n = string.format("%s-%d-%d", run, thread_id, counter)
  local body = '{"first_name":"Bench' .. n .. '","last_name":"Loadtest",'
    .. '"emails":[{"address":"bench' .. n .. '@example.com"}],'
    .. '"phones":[{"number":"+14155550123"}],"tags":["bench"],"job_title":"Buyer"}'
  return wrk.format("POST", "/v1/contacts", nil, body)
end
"""

# The innermost frame naming one of these puts a sample in its stage (first match wins,
# walking from the leaf to the root); library frames without a stage of their own
# (pydantic, orjson, asyncio) count for the code that called them.
STAGES: list[tuple[str, str]] = [
    ("crm_shared/auth/", "auth (JWT, cached)"),
    ("/jwt/", "auth (JWT, cached)"),
    ("crm_shared/privacy/", "sealing (keys, AES-GCM)"),
    ("master_key.py", "sealing (keys, AES-GCM)"),
    ("cryptography/", "sealing (keys, AES-GCM)"),
    ("eventstore/mapper.py", "mapper (events to rows)"),
    ("crm_shared/messaging/", "relay"),
    ("aiokafka/", "relay"),
    ("kafka/", "relay"),
    ("eventsourcing/", "relay"),  # the relay reads the notification log through it
    ("psycopg", "SQL client (psycopg)"),
    ("eventstore/recorder.py", "SQL client (psycopg)"),
    ("eventstore/group_commit.py", "group commit"),
    ("prometheus_client/", "metrics"),
    ("logging/", "logging"),
    ("crm_shared/observability/", "logging"),
    ("http/middleware.py", "middleware (ours)"),
    ("http/strict_json.py", "middleware (ours)"),
    ("views.py", "view (response body)"),
    ("crm_shared/history.py", "view (response body)"),
    ("crm_contacts/domain/", "domain"),
    ("crm_shared/records/record.py", "domain"),
    ("crm_shared/domain.py", "domain"),
    ("crm_shared/events/", "domain"),
    ("crm_shared/values.py", "domain"),
    ("crm_shared/auth/policy.py", "domain"),
    ("crm_shared/records/", "route and use case"),
    ("crm_shared/http/", "route and use case"),
    ("crm_contacts/", "route and use case"),
    ("fastapi/dependencies/", "FastAPI dependencies and body validation"),
    ("fastapi/", "FastAPI routing and responses"),
    ("starlette/", "FastAPI routing and responses"),
    ("uvicorn/", "HTTP server"),
    ("httptools", "HTTP server"),
    ("granian/", "HTTP server"),
]
# A sample whose innermost Python frame is one of these is spent in the server's native
# code (the loop polling, Granian's receive and send, written in Rust), not in the frame.
NATIVE_LEAVES: list[tuple[str, str]] = [
    ("granian/server/mp.py", "event loop (uvloop, native)"),
    ("asyncio/runners.py", "event loop (uvloop, native)"),
    ("ServerErrorMiddleware.__call__.<locals>._send", "HTTP server"),
    ("RequestContextMiddleware.__call__.<locals>.checked_receive", "HTTP server"),
]
FRAME = re.compile(r"\((?P<file>[^:()]+):\d+\)$")


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def family(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def snapshot(groups: dict[str, list[psutil.Process]]) -> dict[str, dict[int, float]]:
    return {name: {p.pid: cpu_seconds(p) for p in procs} for name, procs in groups.items()}


def stored_commands(database_url: str, target: str) -> int:
    table = "contacts.contacts_events" if target == "crm" else "baseline.contacts"
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def settle(process: psutil.Process, quiet: float = 0.02, timeout: float = 120) -> None:
    """Waits until a process has (nearly) stopped using CPU: the consumer caught up."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(process)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(process)
        if now - before < quiet:
            return
        before = now


def run_wrk(port: int, token: str, connections: int, seconds: float, run: str) -> str:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f'run = "{run}"\n' + WRK_SCRIPT)
    threads = max(1, min(2, connections))
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--latency",
        "-s",
        str(script),
        "-H",
        "Content-Type: application/json",
        "-H",
        f"Authorization: Bearer {token}",
        f"http://127.0.0.1:{port}",
    ]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def classify(stack: str) -> str:
    frames = stack.split(";")
    for marker, stage in NATIVE_LEAVES:
        if marker in frames[-1]:
            return stage
    for frame in reversed(frames):
        match = FRAME.search(frame)
        file = match.group("file") if match else frame
        for marker, stage in STAGES:
            if marker in file:
                return stage
    return "event loop and other"


def stage_breakdown(raw: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[classify(stack)] += int(count)
    return counts


def server_argv(server: str, factory: str, port: int, workers: int) -> list[str]:
    """The HTTP server running the app ``factory`` makes, as `crm serve` runs it."""
    if server == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "1",
            "--no-ws",
            "--no-access-log",
            "--log-level",
            "warning",
            factory,
        ]
    return uvicorn_argv(factory, port, workers)


def thread_cpu(processes: list[psutil.Process]) -> dict[str, float]:
    """CPU seconds of the processes' threads, summed by thread name (Python's threads
    are named after the process; Granian's runtime threads have names of their own)."""
    by_name: Counter[str] = Counter()
    for process in processes:
        try:
            own = process.name()
            for thread in process.threads():
                try:
                    name = Path(f"/proc/{process.pid}/task/{thread.id}/comm").read_text().strip()
                except OSError:
                    continue
                kind = "python" if name == own or name.startswith("python") else name
                by_name[re.sub(r"[-_ ]?\d+$", "", kind)] += thread.user_time + thread.system_time
        except psutil.NoSuchProcess:
            continue
    return dict(by_name)


def start_target(
    target: str, database_url: str, kafka: str, port: int, logs: Path, server: str
) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CRM_LOG_LEVEL": "WARNING",
        "CRM_EMBEDDED": "true",
    }
    if target != "crm":
        prepare(database_url)
        env |= {"BASELINE_DATABASE_URL": database_url, "BASELINE_MODE": target}
        argv = server_argv(server, "bench.baseline_app:create_app", port, 2)
        out = open(logs / f"{target}.log", "ab")  # noqa: SIM115
        return [subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)]
    projections_port = free_port()
    env |= {
        "CRM_CONTACTS_PORT": str(port),
        "CRM_PROJECTIONS_PORT": str(projections_port),
        "CRM_SERVICE_URLS": json.dumps({"contacts": f"http://127.0.0.1:{port}"}),
    }
    crm = str(Path(sys.executable).parent / "crm")
    started = []
    for name in ("contacts", "projections"):
        argv = [crm, "serve", name]
        if name == "contacts" and server != "uvicorn":
            argv = server_argv(server, installed_services()[name].app_factory, port, 2)
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115
        started.append(
            subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        )
    wait_http(f"http://127.0.0.1:{projections_port}/readyz")
    return started


def compare(target: str, specs: list[str], rounds: int, burst: float, connections: int) -> None:
    """A/B on a shared machine: one service per ``spec`` ("server" or "server:PYTHONPATH",
    the latter to run other code), all up at once over one database, loaded in turn with
    short bursts (the order alternating each round), so that the machine's other load
    falls on every variant alike. Prints each one's CPU per request, round by round.
    For the CRM only the contacts service runs, without its relay (the same in each)."""
    logs = ROOT / "bench" / "out"
    logs.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-write-compare-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    processes: list[subprocess.Popen[bytes]] = []
    try:
        postgres.start()
        postgres.create_database("bench")
        database_url = postgres.database_url("bench")
        if target != "crm":
            prepare(database_url)
        ports: list[int] = []
        for spec in specs:
            server, _, path = spec.partition(":")
            port = free_port()
            env = {
                **os.environ,
                "CRM_DATABASE_URL": database_url,
                "CRM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # never used: no relay
                "CRM_RELAY_IN_PROCESS": "false",
                "CRM_LOG_LEVEL": "WARNING",
                "CRM_EMBEDDED": "true",
                "BASELINE_DATABASE_URL": database_url,
                "BASELINE_MODE": target,
            }
            if path:
                env["PYTHONPATH"] = path
            factory = (
                installed_services()["contacts"].app_factory
                if target == "crm"
                else "bench.baseline_app:create_app"
            )
            out = open(logs / f"compare-{len(ports)}.log", "ab")  # noqa: SIM115
            processes.append(
                subprocess.Popen(
                    server_argv(server, factory, port, 2),
                    env=env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
            wait_http(f"http://127.0.0.1:{port}/" + ("healthz" if target == "crm" else "docs"))
            ports.append(port)
        token = issue_token(
            Settings(), principal_id="bench", role=Role.ADMIN, departments=["sales"]
        )
        for port in ports:
            run_wrk(port, token, connections, 3, f"warm{port}")
        totals: list[list[float]] = [[0.0, 0] for _ in specs]
        for round_ in range(rounds):
            order = list(range(len(specs)))
            if round_ % 2:
                order.reverse()
            line = []
            for i in order:
                procs = family(processes[i].pid)
                before = sum(cpu_seconds(p) for p in procs)
                output = run_wrk(ports[i], token, connections, burst, f"r{round_}p{i}")
                used = sum(cpu_seconds(p) for p in procs) - before
                answered = re.search(r"(\d+) requests in", output)
                failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
                done = int(answered.group(1)) if answered else 0
                done -= int(failed.group(1)) if failed else 0
                totals[i][0] += used
                totals[i][1] += done
                median = re.search(r"50%\s+([\d.]+\w+)", output)
                line.append(
                    f"{specs[i]}: {used / max(done, 1) * 1e6:6.0f} µs ({done}, p50 "
                    f"{median.group(1) if median else '?'})"
                )
            print(f"round {round_ + 1}: " + ";  ".join(line), flush=True)
        for spec, (spent, count) in zip(specs, totals, strict=True):
            print(f"{spec:<40} {spent / max(count, 1) * 1e6:6.0f} µs CPU per request ({count:.0f})")
    finally:
        for process in processes:
            stop(process)
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=("crm", "plain", "batched"), default="crm")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=4)
    parser.add_argument("--py-spy", action="store_true", help="sample the contacts workers")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--compare",
        nargs="+",
        metavar="SERVER[:PYTHONPATH]",
        help="A/B the service's CPU per request across servers or code (see compare())",
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--burst", type=float, default=5)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    if args.compare:
        compare(args.target, args.compare, args.rounds, args.burst, args.connections)
        return

    logs = ROOT / "bench" / "out"
    logs.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-write-profile-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    kafka = EmbeddedKafka(free_port(), log_file=logs / "tansu-profile.log")
    processes: list[subprocess.Popen[bytes]] = []
    port = free_port()
    try:
        postgres.start()
        postgres.create_database("bench")
        database_url = postgres.database_url("bench")
        kafka.start()
        import asyncio

        from crm_shared.messaging.topics import ensure_topics

        asyncio.run(ensure_topics(kafka.bootstrap_servers, 4))
        processes = start_target(
            target := args.target, database_url, kafka.bootstrap_servers, port, logs, args.server
        )
        wait_http(f"http://127.0.0.1:{port}/" + ("readyz" if target == "crm" else "docs"))
        token = issue_token(
            Settings(), principal_id="bench", role=Role.ADMIN, departments=["sales"]
        )
        run_wrk(port, token, args.connections, args.warmup, "warm")
        if target == "crm":
            deadline = time.monotonic() + 60
            while not outbox_drained(database_url) and time.monotonic() < deadline:
                time.sleep(0.2)
            settle(psutil.Process(processes[1].pid))

        postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
        groups = {"service": family(processes[0].pid), "postgres": family(postmaster)}
        if target == "crm":
            groups["projections"] = family(processes[1].pid)
            groups["broker"] = [psutil.Process(kafka.pid() or 0)]
        workers = [p for p in groups["service"] if p.pid != processes[0].pid] or groups["service"]
        spies = []
        if args.py_spy:
            for worker in workers:
                raw = logs / f"py-spy-{target}-{worker.pid}.txt"
                spies.append(
                    (
                        raw,
                        subprocess.Popen(
                            [
                                str(Path(sys.executable).parent / "py-spy"),
                                "record",
                                "--pid",
                                str(worker.pid),
                                "--format",
                                "raw",
                                "--nonblocking",
                                "--duration",
                                str(int(args.seconds)),
                                "-o",
                                str(raw),
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        ),
                    )
                )
        before_count = stored_commands(database_url, target)
        before = snapshot(groups)
        threads_before = thread_cpu(workers)
        output = run_wrk(port, token, args.connections, args.seconds, "run")
        if target == "crm":
            deadline = time.monotonic() + 120
            while not outbox_drained(database_url) and time.monotonic() < deadline:
                time.sleep(0.2)
            settle(psutil.Process(processes[1].pid))
        after = snapshot(groups)
        threads_after = thread_cpu(workers)
        commands = stored_commands(database_url, target) - before_count
        for _, spy in spies:
            spy.wait(timeout=60)

        print(
            f"{target} on {args.server}, {args.connections} connections, {args.seconds:.0f} s: "
            f"{commands} commands"
        )
        print(
            "\n".join(
                line
                for line in output.splitlines()
                if "Requests/sec" in line or "99%" in line or "50%" in line
            )
        )
        figures: dict[str, object] = {
            "target": target,
            "server": args.server,
            "connections": args.connections,
            "commands": commands,
        }
        per_process: dict[str, float] = {}
        for name in groups:
            total = sum(after[name].get(p, 0.0) - before[name].get(p, 0.0) for p in before[name])
            per_process[name] = total / max(commands, 1) * 1e6
            print(f"  {name:<12} {per_process[name]:8.0f} µs CPU per command")
            if name == "service":
                for pid in before[name]:
                    us = (after[name][pid] - before[name][pid]) / max(commands, 1) * 1e6
                    print(f"      pid {pid:<8} {us:8.0f}")
        print(f"  {'total':<12} {sum(per_process.values()):8.0f} µs CPU per command")
        figures["cpu_us_per_command"] = per_process
        threads = {
            name: (threads_after.get(name, 0.0) - threads_before.get(name, 0.0))
            / max(commands, 1)
            * 1e6
            for name in threads_after
        }
        print("  the workers' CPU by thread:")
        for name, us in sorted(threads.items(), key=lambda item: -item[1]):
            print(f"      {name:<20} {us:8.0f} µs")
        figures["worker_threads_us"] = threads
        if spies:
            counts: Counter[str] = Counter()
            for raw, _ in spies:
                if raw.exists():
                    counts += stage_breakdown(raw)
            # What py-spy can see: the workers' Python threads.
            service_us = threads.get("python", per_process["service"])
            samples = sum(counts.values()) or 1
            print("\n  the service's CPU by stage (py-spy samples, scaled to its CPU per command):")
            stages = {}
            for stage, count in counts.most_common():
                stages[stage] = service_us * count / samples
                print(f"    {stage:<45} {stages[stage]:7.0f} µs  ({100 * count / samples:4.1f} %)")
            figures["stages_us"] = stages
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        for process in processes:
            stop(process)
        kafka.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
