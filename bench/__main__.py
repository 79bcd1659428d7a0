"""`make bench`: the CRM's write path beside its peers under wrk, the read side's latency,
the customer-360 rebuild and memory, on a private embedded PostgreSQL and broker.

make bench                                   # everything
python -m bench --seconds 3 --rebuild-events 20000 --connections 32 1
python -m bench --profile                    # and py-spy's stages at 32 connections

Prints Markdown for bench/RESULTS.md and writes it, with every figure as JSON, to
bench/out/. See bench/RESULTS.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import bodies, peers, queries
from bench import sales as bench_sales
from bench.measure import measure
from bench.profile import READ_SIDE, WRITE_SIDE, Recording, record
from bench.rebuild import rebuild
from bench.report import render
from bench.sealing import bench_sealing_in_process, print_sealing_in_process
from bench.stack import (
    ROOT,
    PeakMemory,
    ProcessMap,
    Service,
    caught_up,
    crm_env,
    free_port,
    outbox_drained,
    serve,
    stop,
    tree,
    uvicorn_workers,
    wait_http,
    wait_until,
)
from bench.wrk import Load, Wrk, WrkMissing, ensure_wrk
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.messaging.topics import ensure_topics
from crm_shared.settings import Settings

OUT = ROOT / "bench" / "out"
MB = 2**20


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="load per measured point")
    parser.add_argument("--warmup", type=int, default=2, help="load before each point, unmeasured")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[32, 8, 1], help="connection counts"
    )
    parser.add_argument("--rebuild-events", type=int, default=100_000)
    parser.add_argument(
        "--latency-seconds", type=int, default=15, help="paced load for event-to-360 latency"
    )
    parser.add_argument("--rate", type=float, default=200, help="commands/s of the paced load")
    parser.add_argument("--sealing-events", type=int, default=20_000)
    parser.add_argument(
        "--opportunities", type=int, default=2000, help="deals the stage changes move in turn"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the CRM at 32 connections")
    parser.add_argument(
        "--note", default="", help="printed above the figures (e.g. a busy machine)"
    )
    return parser.parse_args()


def machine(wrk_binary: str) -> dict[str, Any]:
    version = subprocess.run([wrk_binary, "-v"], capture_output=True, text=True, check=False)
    first = (version.stdout or version.stderr).splitlines()[:1]
    return {
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
        "wrk": first[0].split(" Copyright")[0].removeprefix("wrk ") if first else "?",
        "load_average": " / ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def say(line: str) -> None:
    print(line, flush=True)


def point_line(label: str, connections: int, point: dict[str, Any]) -> str:
    w = point["wrk"]
    total = sum(s for g, s in point["cpu_s"].items() if not g.startswith("wrk"))
    per_command = total / w["ok"] * 1e6 if w["ok"] else 0
    return (
        f"  {label:<8} {connections:>3} conn.: {w['rate']:8,.0f}/s  p50 {w['p50_ms']:6.1f} ms"
        f"  p99 {w['p99_ms']:6.1f} ms  failed {w['failures']:,}  CPU {per_command:,.0f} µs/command"
        f"  (wrk {w['client_cpu_s']:.2f} s, rest of machine {point['other_cpu_s']:.1f} s)"
    )


class Bench:
    def __init__(self, args: argparse.Namespace, wrk: Wrk, work: Path) -> None:
        self.args = args
        self.wrk = wrk
        self.work = work
        self.run_id = uuid.uuid4().hex[:8]
        self.postgres = EmbeddedPostgres(work / "pg", free_port())
        self.kafka = EmbeddedKafka(free_port(), log_file=OUT / "tansu.log")
        self.services: dict[str, Service] = {}
        self.memory = PeakMemory()
        self.results: dict[str, Any] = {"http": {}}

    @property
    def database_url(self) -> str:
        return str(self.postgres.database_url("bench"))

    def start_infrastructure(self) -> ProcessMap:
        self.postgres.start()
        self.postgres.create_database("bench")
        self.kafka.start()
        asyncio.run(ensure_topics(self.kafka.bootstrap_servers, 4))
        return ProcessMap(self.database_url, self.postgres.pid() or 0, self.kafka.pid())

    def load(self, url: str, body: bytes, token: str = "", tag: str = "") -> Load:
        prefix = f"{self.run_id}{tag}"
        return Load(f"{url}/v1/contacts", body, token, prefix)

    # -- HTTP: peers, then the CRM ------------------------------------------------------

    def peers(self, processes: ProcessMap) -> None:
        peers.prepare(self.database_url)
        body = bodies.registration()
        for mode in peers.PEERS:
            service = peers.start(mode, self.database_url, OUT)
            try:
                processes.services = {mode: service.pid}
                figures = self.results["http"].setdefault(mode, {})
                for c in self.args.connections:
                    point, _ = measure(
                        self.wrk,
                        self.load(service.url, body, tag=mode),
                        c,
                        self.args.seconds,
                        processes,
                        warmup=self.args.warmup,
                    )
                    figures[str(c)] = point
                    say(point_line(mode, c, point))
            finally:
                stop(service.process)

    def start_crm(self, processes: ProcessMap) -> str:
        ports = {"contacts": free_port(), "projections": free_port()}
        env = crm_env(self.database_url, self.kafka.bootstrap_servers, ports)
        self.env = env
        for name in ("contacts", "projections"):
            self.services[name] = serve(name, env, ports[name], OUT)
        for service in self.services.values():
            wait_http(f"{service.url}/readyz")
        processes.services = {name: s.pid for name, s in self.services.items()}
        processes.single_process = {"projections"}
        self.settings = Settings()
        return str(
            issue_token(self.settings, principal_id="bench", role=Role.ADMIN, departments=["sales"])
        )

    def crm(self, processes: ProcessMap, token: str) -> None:
        url = self.services["contacts"].url
        figures = self.results["http"].setdefault("crm", {})
        for c in self.args.connections:
            point, _ = measure(
                self.wrk,
                self.load(url, bodies.registration(), token, "crm"),
                c,
                self.args.seconds,
                processes,
                settled=lambda: caught_up(self.database_url),
                warmup=self.args.warmup,
            )
            figures[str(c)] = point
            say(point_line("crm", c, point))

    def profile(self, processes: ProcessMap, token: str, connections: int = 32) -> None:
        """A run of its own with py-spy on each contacts worker and on the projections
        process: the samples cost CPU, so its throughput is not the one reported above."""
        contacts = self.services["contacts"].pid
        targets: dict[str, tuple[int, Any]] = {
            f"contacts: worker {n}": (pid, WRITE_SIDE)
            for n, pid in enumerate(sorted(uvicorn_workers(contacts)), 1)
        }
        targets["projections"] = (self.services["projections"].pid, READ_SIDE)

        def start_profilers(_: int) -> Callable[[], dict[str, dict[str, int]]]:
            recordings: list[Recording] = [
                record(label, pid, self.args.seconds, rules, OUT)
                for label, (pid, rules) in targets.items()
            ]
            return lambda: {r.label: r.finish() for r in recordings}

        point, stages = measure(
            self.wrk,
            self.load(self.services["contacts"].url, bodies.registration(), token, "profile"),
            connections,
            self.args.seconds,
            processes,
            settled=lambda: caught_up(self.database_url),
            warmup=0,
            during=start_profilers,
        )
        # Each profiled process's µs per command (its CPU group may carry a role suffix).
        us = {
            label: next(
                (v for g, v in point["cpu_us_per_command"].items() if g.startswith(label)), 0.0
            )
            for label in targets
        }
        self.results["profile"] = {
            "connections": connections,
            "wrk": point["wrk"],
            "stages": stages,
            "us_per_command": us,
            "cpu_us_per_command": point["cpu_us_per_command"],
        }
        say(f"  profiled run: {point['wrk']['rate']:,.0f}/s; samples in {OUT}/profile-*.txt")

    def sealing_http(self, token: str) -> None:
        """Personal fields (sealed, a data key per contact, the 360 fetching keys) against
        the same load with nothing personal; each pair back to back from a caught-up 360."""
        url = self.services["contacts"].url
        figures: dict[str, dict[str, float]] = {}
        for c in sorted({max(self.args.connections), min(self.args.connections)}, reverse=True):
            rates: dict[str, float] = {}
            keys: dict[str, int] = {}
            for label, template in bodies.BODIES.items():
                wait_until(lambda: caught_up(self.database_url))
                before = queries.data_keys(self.database_url)
                result = self.wrk.run(
                    self.load(url, template, token, f"seal{label}{c}"), c, self.args.seconds
                )
                rates[label] = result.rate
                keys[label] = queries.data_keys(self.database_url) - before
                if result.ok == 0:
                    raise RuntimeError(f"no {label} registration succeeded")
            difference = (rates["personal"] / rates["not_personal"] - 1) * 100
            figures[str(c)] = {
                "personal": rates["personal"],
                "not_personal": rates["not_personal"],
                "difference_pct": difference,
                "data_keys_personal": keys["personal"],
                "data_keys_not_personal": keys["not_personal"],
            }
            say(
                f"  {c:>3} conn.: personal {rates['personal']:8,.0f}/s"
                f"  not personal {rates['not_personal']:8,.0f}/s  {difference:+6.1f} %"
            )
        self.results.setdefault("sealing", {})["http"] = figures

    def latency(self, token: str, key: str) -> None:
        # Unmeasured first, as every point is: a fresh stack's first events also wait for
        # the 360's consumer to join its group and for the first data-key lookups.
        warmup = self.load(
            self.services["contacts"].url,
            bodies.tagged(bodies.registration(), f"warmup{key.replace('_', '')}{self.run_id}"),
            token,
            f"{key}-warmup",
        )
        self.wrk.start(warmup, 16, self.args.warmup, rate=self.args.rate).finish()
        wait_until(lambda: caught_up(self.database_url))
        tag = f"{key.replace('_', '')}{self.run_id}"
        events_before = queries.stored_events(self.database_url)
        load = self.load(
            self.services["contacts"].url,
            bodies.tagged(bodies.registration(), tag),
            token,
            key,
        )
        # Paced by wrk itself (post.lua's delay(): a fixed schedule per thread), with more
        # connections than the rate needs so that a slow answer does not hold the next.
        result = self.wrk.start(load, 16, self.args.latency_seconds, rate=self.args.rate).finish()
        wait_until(lambda: caught_up(self.database_url))
        figures = queries.latency_percentiles(self.database_url, tag)
        self.results[key] = {
            **figures,
            "rate": result.rate,
            "failures": result.failures,
            "paced_by": "wrk (post.lua delay(), fixed schedule)",
            "events_on_topic_before": events_before,
        }
        say(
            f"  {result.rate:.0f} commands/s sent; {figures['count']} contacts"
            f" ({events_before:,} events on the topic before):"
            f" p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms,"
            f" p99 {figures['p99_ms']:.1f} ms"
        )

    def memory_at_rest(self) -> None:
        """Per service process, after the HTTP runs, with nothing to do."""
        wait_until(lambda: caught_up(self.database_url))
        time.sleep(1)
        at_rest: dict[str, float] = {}
        for name, service in self.services.items():
            workers = sorted(uvicorn_workers(service.pid))
            for pid in tree(service.pid):
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                if pid in workers:
                    role = f"worker {workers.index(pid) + 1}"
                elif pid == service.pid:
                    role = "supervisor" if workers else "service"
                elif "resource_tracker" in " ".join(psutil.Process(pid).cmdline()):
                    role = "resource tracker"  # multiprocessing's, beside uvicorn's workers
                else:
                    role = f"helper process {pid}"
                at_rest[f"{name} {role}"] = round(rss / MB, 1)
        self.results.setdefault("memory", {})["at_rest_mb"] = at_rest

    def rebuild_360(self, processes: ProcessMap) -> None:
        total = queries.top_up_events(self.database_url, self.args.rebuild_events)
        wait_until(lambda: outbox_drained(self.database_url))
        wait_until(lambda: caught_up(self.database_url))
        self.memory.reset()
        self.memory.watch("contacts (largest worker)", self.services["contacts"].pid)
        self.memory.watch("projections", self.services["projections"].pid)
        self.memory.watch("postgres (largest process)", self.postgres.pid() or 0)
        figures = rebuild(self.env, processes.groups(), self.memory, self.database_url)
        self.results["rebuild"] = {**figures, "events_in_store": total}
        last = figures["output"]
        self.results.setdefault("memory", {})["rebuild_peak_mb"] = {
            name: round(peak / MB, 1) for name, peak in self.memory.peak.items()
        }
        say(f"  {last}; limit: {self.results['rebuild']['limit']}")

    def stage_changes(self, token: str) -> None:
        """Sales started beside the CRM already running (the projections service's forecast
        folds the stage changes), its deals opened, then wrk's points as for registrations."""
        port = free_port()
        env = {**self.env, "CRM_SALES_PORT": str(port)}
        self.services["sales"] = sales = serve("sales", env, port, OUT)
        wait_http(f"{sales.url}/readyz")
        deals = bench_sales.open_deals(sales.url, token, self.args.opportunities)
        wait_until(lambda: outbox_drained(self.database_url, "sales"))
        processes = ProcessMap(self.database_url, self.postgres.pid() or 0, self.kafka.pid())
        processes.services = {"sales": sales.pid, "projections": self.services["projections"].pid}
        processes.single_process = {"projections"}
        figures = bench_sales.stage_changes(
            self.wrk,
            sales.url,
            token,
            deals,
            self.args.connections,
            self.args.seconds,
            processes,
            warmup=self.args.warmup,
        )
        self.results["stage_changes"] = {"deals": len(deals), "points": figures}
        for c, point in figures.items():
            say(point_line("stage changes", int(c), point))

    def search(self) -> None:
        wait_until(lambda: caught_up(self.database_url))
        found = {}
        for label, role in (("admin", Role.ADMIN), ("sales_rep", Role.SALES_REP)):
            caller = issue_token(
                self.settings, principal_id="bench", role=role, departments=["sales"]
            )
            found[label] = queries.search_latencies(self.services["projections"].url, caller)
        self.results["search"] = found

    def stop(self) -> None:
        self.memory.stop()
        for service in self.services.values():
            stop(service.process)
        self.kafka.stop()
        self.postgres.stop()


def main() -> None:
    args = arguments()
    try:
        wrk_binary = ensure_wrk()
    except WrkMissing as missing:
        raise SystemExit(f"make bench: {missing}") from None
    OUT.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench " + " ".join(_argv_summary(args)),
        "machine": machine(wrk_binary),
        "note": args.note,
    }
    say(f"machine: {results['machine']}")

    say(f"\nsealing in process, per registration ({args.sealing_events:,} events):")
    results["sealing"] = {"in_process": bench_sealing_in_process(args.sealing_events)}
    print_sealing_in_process(results["sealing"]["in_process"])

    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    work.chmod(0o755)
    bench = Bench(args, Wrk(wrk_binary), work)
    bench.results = {**results, "http": {}}
    try:
        processes = bench.start_infrastructure()
        say("\nregistrations per second over HTTP (durable), wrk:")
        bench.peers(processes)
        token = bench.start_crm(processes)
        # Measured first, on a broker holding few record batches: the embedded broker's
        # fetch cost grows with the batches a partition holds (see bench/RESULTS.md),
        # which real Kafka's offset index does not. Measured again after the load below.
        say(f"\nevent to 360 at {args.rate:.0f} commands/s (paced by wrk), fresh broker:")
        bench.latency(token, "latency")
        # The rebuild too reads a topic written in large batches, before the load below
        # leaves tens of thousands of small ones, which the embedded broker walks on every
        # fetch (a rebuild after it measured the broker, or failed on its slowness).
        say(f"\ncustomer-360 rebuild over at least {args.rebuild_events:,} events:")
        bench.rebuild_360(processes)
        bench.search()
        say("\nregistrations per second over HTTP, the CRM:")
        bench.crm(processes, token)
        if args.profile:
            say("\nprofile (py-spy) at 32 connections:")
            bench.profile(processes, token)
        say("\ncost of sealing personal data over HTTP:")
        bench.sealing_http(token)
        bench.memory_at_rest()
        say(f"\nevent to 360 at {args.rate:.0f} commands/s, after the load above:")
        bench.latency(token, "latency_after_load")
        say(f"\nstage changes per second over HTTP ({args.opportunities:,} deals in turn), wrk:")
        bench.stage_changes(token)
    except BaseException:
        bench.stop()
        say(f"\nthe run failed; its logs and data are kept in {work}")
        raise
    bench.stop()
    shutil.rmtree(work, ignore_errors=True)

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"results-{stamp}.json").write_text(json.dumps(bench.results, indent=2))
    markdown = render(bench.results)
    (OUT / f"results-{stamp}.md").write_text(markdown)
    say("\n" + markdown)
    say(f"written: {OUT / f'results-{stamp}.json'} and .md")


def _argv_summary(args: argparse.Namespace) -> list[str]:
    parts = [f"--seconds {args.seconds}", f"--rebuild-events {args.rebuild_events}"]
    parts.append("--connections " + " ".join(str(c) for c in args.connections))
    if args.profile:
        parts.append("--profile")
    return parts


if __name__ == "__main__":
    main()
