"""The benchmark's figures as Markdown for bench/RESULTS.md: throughput beside the peers of
the same run with ratios, the targets of issue 13 with pass or fail, CPU per command per
process, the profile by stage, latency, rebuild and memory. Pure: results in, text out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SERVICES = {
    "ceiling": "no-database ceiling (FastAPI, validation only, 2 workers)",
    "plain": "plain CRUD (FastAPI, one INSERT per request, 2 workers)",
    "batched": "batched CRUD (up to 500 INSERTs per transaction, 2 workers)",
    "crm": "CRM `POST /v1/contacts` (2 workers, relay and 360 running)",
}

# Issue 13, section 2.
CRM_VS_PLAIN = {32: 1.3, 1: 0.8}
EVENT_TO_360_P99_MS = 100.0
REBUILD_EVENTS_PER_S = 20_000.0
RSS_AT_REST_MB = 150.0
RSS_REBUILD_MB = 250.0
INFRASTRUCTURE = ("postgres", "broker")


def ratio(figure: float | None, peer: float | None) -> float | None:
    if figure is None or not peer:
        return None
    return figure / peer


def rate_of(http: Mapping[str, Any], service: str, connections: int) -> float | None:
    point = http.get(service, {}).get(str(connections))
    return None if point is None else float(point["wrk"]["rate"])


def _cell(rate: float | None, failures: int = 0) -> str:
    if rate is None:
        return "n/a"
    return f"{rate:,.0f}" + (f" ({failures:,} failed)" if failures else "")


def connections_of(http: Mapping[str, Any]) -> list[int]:
    found = {int(c) for points in http.values() for c in points}
    return sorted(found, reverse=True)


def throughput_table(http: Mapping[str, Any]) -> str:
    """The issue's table: requests/s per service and connection count; the CRM's cells
    carry its ratio to plain and batched CRUD of the same run."""
    counts = connections_of(http)
    head = "| requests/s, durable | " + " | ".join(f"{c} conn." for c in counts) + " |"
    lines = [head, "|---|" + "---:|" * len(counts)]
    for service, label in SERVICES.items():
        if service not in http:
            continue
        cells = []
        for c in counts:
            point = http[service].get(str(c))
            rate = rate_of(http, service, c)
            cell = _cell(rate, point["wrk"]["failures"] if point else 0)
            if service == "crm" and rate is not None:
                to_plain = ratio(rate, rate_of(http, "plain", c))
                to_batched = ratio(rate, rate_of(http, "batched", c))
                parts = [
                    f"{value:.2f}x {peer}"
                    for value, peer in ((to_plain, "plain"), (to_batched, "batched"))
                    if value is not None
                ]
                if parts:
                    cell = f"**{cell}** ({', '.join(parts)})"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def latency_table(http: Mapping[str, Any]) -> str:
    lines = [
        "| service | conn. | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors"
        " | wrk CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for service in SERVICES:
        for c in connections_of(http):
            point = http.get(service, {}).get(str(c))
            if point is None:
                continue
            w = point["wrk"]
            lines.append(
                f"| {service} | {c} | {w['rate']:,.0f} | {w['p50_ms']:.1f} | {w['p90_ms']:.1f}"
                f" | {w['p99_ms']:.1f} | {w['non_2xx']:,} | {w['socket_errors']:,}"
                f" | {w['client_cpu_s']:.2f} |"
            )
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    what: str
    measured: str
    target: str
    met: bool | None  # None: not measured in this run

    def line(self) -> str:
        mark = {True: "✔ met", False: "✘ not met", None: "n/a not measured"}[self.met]
        return f"| {self.what} | {self.measured} | {self.target} | {mark} |"


def _at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def targets(results: Mapping[str, Any]) -> list[Target]:
    http = results.get("http", {})
    found: list[Target] = []
    for connections, wanted in CRM_VS_PLAIN.items():
        value = ratio(rate_of(http, "crm", connections), rate_of(http, "plain", connections))
        found.append(
            Target(
                f"CRM registrations / plain CRUD, {connections} conn.",
                "n/a" if value is None else f"{value:.2f}x",
                f"≥ {wanted}x",
                None if value is None else value >= wanted,
            )
        )
    latency = results.get("latency")
    p99 = latency["p99_ms"] if latency and latency.get("count") else None
    found.append(
        Target(
            "event to 360 visible, p99 at 200 commands/s",
            "n/a" if p99 is None else f"{p99:.0f} ms (at {latency['rate']:.0f}/s sent)",  # type: ignore[index]
            f"< {EVENT_TO_360_P99_MS:.0f} ms",
            None if p99 is None else p99 < EVENT_TO_360_P99_MS,
        )
    )
    rebuild = results.get("rebuild")
    rate = rebuild["events_per_s"] if rebuild else None
    found.append(
        Target(
            "customer-360 rebuild, personal fields opened",
            "n/a" if rate is None else f"{rate:,.0f} events/s over {rebuild['events']:,}",  # type: ignore[index]
            f"≥ {REBUILD_EVENTS_PER_S:,.0f} events/s",
            None if rate is None else rate >= REBUILD_EVENTS_PER_S,
        )
    )
    memory = results.get("memory", {})
    for key, what, limit in (
        ("at_rest_mb", "largest service process at rest", RSS_AT_REST_MB),
        ("rebuild_peak_mb", "largest service process during the rebuild", RSS_REBUILD_MB),
    ):
        # The targets are the CRM's own processes; PostgreSQL's and the broker's memory is
        # theirs to tune (shared buffers), shown in the memory table.
        figures = {
            name: mb
            for name, mb in (memory.get(key) or {}).items()
            if not name.startswith(INFRASTRUCTURE)
        }
        largest = max(figures.items(), key=lambda kv: kv[1], default=None)
        found.append(
            Target(
                f"memory: {what}",
                "n/a" if largest is None else f"{largest[1]:.0f} MB ({largest[0]})",
                f"< {limit:.0f} MB",
                None if largest is None else largest[1] < limit,
            )
        )
    return found


def targets_table(results: Mapping[str, Any]) -> str:
    lines = ["| target (issue 13 §2) | measured | target | |", "|---|---:|---:|---|"]
    return "\n".join([*lines, *(t.line() for t in targets(results))])


def cpu_table(point: Mapping[str, Any], title: str) -> str:
    """CPU seconds and µs per command by process group, for one measured point."""
    ok = point["wrk"]["ok"]
    lines = [
        f"{title}: {ok:,} commands, {point['window_s']:.1f} s window"
        f" (load {point['wrk']['seconds']:.1f} s + read side catching up {point['drain_s']:.1f} s)",
        "",
        "| process | CPU s | µs CPU per command |",
        "|---|---:|---:|",
    ]
    per_command = point["cpu_us_per_command"]
    for group, seconds in sorted(point["cpu_s"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {group} | {seconds:.2f} | {per_command.get(group, 0):,.0f} |")
    total = sum(point["cpu_s"].values())
    wrk = point["wrk"]["client_cpu_s"]
    lines.append(
        f"| **total, without wrk** | {total - wrk:.2f} | "
        f"**{(total - wrk) / ok * 1e6 if ok else 0:,.0f}** |"
    )
    lines.append(f"| rest of the machine (other jobs) | {point['other_cpu_s']:.2f} | |")
    return "\n".join(lines)


def profile_table(profile: Mapping[str, Mapping[str, int]], us: Mapping[str, float]) -> str:
    """Samples per stage per profiled process; with the process's µs per command, the
    stage's share of it."""
    lines = ["| process | stage | samples | share | ≈ µs per command |", "|---|---|---:|---:|---:|"]
    for process, stages in profile.items():
        total = sum(stages.values()) or 1
        for stage, samples in stages.items():
            share = samples / total
            per_command = us.get(process)
            estimate = f"{share * per_command:,.0f}" if per_command else ""
            lines.append(f"| {process} | {stage} | {samples:,} | {share:.0%} | {estimate} |")
    return "\n".join(lines)


def _section(title: str, body: str) -> list[str]:
    return [f"### {title}", "", body, ""]


def render(results: Mapping[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"## {results['date']}: `make bench` ({results['command']})",
        "",
        f"{m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}; load from"
        f" wrk {m['wrk']} (one thread) on the same machine; every service on the same"
        " PostgreSQL (durable commits) and the same request body. Load average at the start:"
        f" {m['load_average']}.",
        "",
    ]
    if results.get("note"):
        out += [f"**{results['note']}**", ""]
    http = results.get("http", {})
    if http:
        out += _section("Registrations per second over HTTP", throughput_table(http))
        out += _section("Latency and failures per point", latency_table(http))
    out += _section("Targets", targets_table(results))
    for c in connections_of(http):
        point = http.get("crm", {}).get(str(c))
        if point:
            out += _section(f"CPU per command, CRM at {c} connections", cpu_table(point, "CRM"))
    for service in ("plain", "batched", "ceiling"):
        for c in connections_of(http)[:1]:
            point = http.get(service, {}).get(str(c))
            if point:
                out += _section(
                    f"CPU per command, {service} at {c} connections", cpu_table(point, service)
                )
    profile = results.get("profile")
    if profile:
        out += _section(
            f"Profile by stage (py-spy, CRM at {profile['connections']} connections,"
            f" {profile['wrk']['rate']:,.0f} requests/s while profiled)",
            profile_table(profile["stages"], profile["us_per_command"]),
        )
    out += _extras(results)
    return "\n".join(out).rstrip() + "\n"


def _extras(results: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    sealing = results.get("sealing", {}).get("http")
    if sealing:
        rows = ["| conn. | personal | not personal | difference | data keys made |"]
        rows.append("|---:|---:|---:|---:|---:|")
        for c, f in sorted(sealing.items(), key=lambda kv: -int(kv[0])):
            rows.append(
                f"| {c} | {f['personal']:,.0f} | {f['not_personal']:,.0f}"
                f" | {f['difference_pct']:+.0f} % | {f['data_keys_personal']:,}"
                f" / {f['data_keys_not_personal']:,} |"
            )
        out += _section("Cost of sealing personal data (CRM, requests/s)", "\n".join(rows))
    in_process = results.get("sealing", {}).get("in_process")
    if in_process:
        rows = ["| µs per registration, in process | personal | not personal |", "|---|---:|---:|"]
        for name, key in (
            ("values sealed (count)", "sealed_values"),
            ("store + read back (CatalogMapper)", "mapper_us"),
            ("of which seal + open", "seal_open_us"),
            ("request validation (RegisterContact)", "validation_us"),
        ):
            rows.append(
                f"| {name} | {in_process[key]['personal']:,.1f}"
                f" | {in_process[key]['not_personal']:,.1f} |"
            )
        rows.append(f"| new data key (generate + wrap) | {in_process['new_data_key_us']:.1f} | |")
        out += _section("Sealing in process (CPU, no I/O)", "\n".join(rows))
    lines = [
        f"{when}: {latency['rate']:.0f} commands/s sent by {latency['paced_by']};"
        f" {latency['count']:,} contacts, {latency.get('events_on_topic_before', 0):,} events"
        f" on the topic before: p50 {latency['p50_ms']:.1f} ms,"
        f" p95 {latency['p95_ms']:.1f} ms, **p99 {latency['p99_ms']:.1f} ms**"
        for when, key in (("Fresh broker", "latency"), ("After the load", "latency_after_load"))
        if (latency := results.get(key))
    ]
    if lines:
        out += _section("Event to 360 visible (database timestamps)", "\n\n".join(lines))
    rebuild = results.get("rebuild")
    if rebuild:
        window = rebuild.get("cpu_window_s") or rebuild["seconds"]
        shares = ", ".join(
            f"{name} {seconds / window:.0%}"
            for name, seconds in sorted(rebuild["cpu_s"].items(), key=lambda kv: -kv[1])
        )
        out += _section(
            "Customer-360 rebuild",
            f"**{rebuild['events_per_s']:,.0f} events/s** over {rebuild['events']:,} events"
            f" in {_processes(rebuild.get('processes', 1))}"
            f" ({rebuild['seconds']:.1f} s rebuilding, the command ran"
            f" {rebuild.get('process_seconds', rebuild['seconds']):.1f} s;"
            f" {rebuild['documents']:,} documents, none sealed). CPU while rebuilding, in"
            f" cores: {shares}; the rest of the machine {rebuild.get('other_cpu_s', 0) / window:.0%}."
            f" Limit: {rebuild['limit']}.",
        )
    memory = results.get("memory")
    if memory:
        rows = ["| process | RSS at rest, MB | peak during the rebuild, MB |", "|---|---:|---:|"]
        names = sorted(set(memory.get("at_rest_mb", {})) | set(memory.get("rebuild_peak_mb", {})))
        for name in names:
            rest = memory.get("at_rest_mb", {}).get(name)
            peak = memory.get("rebuild_peak_mb", {}).get(name)
            rows.append(f"| {name} | {_mb(rest)} | {_mb(peak)} |")
        out += _section("Memory (largest single process per name)", "\n".join(rows))
    stages = results.get("stage_changes")
    if stages:
        out += _section(
            f"Stage changes per second over HTTP (`POST /v1/opportunities/{{id}}/stage`,"
            f" {stages['deals']:,} deals moved in turn, sales and projections running)",
            stage_changes_table(stages["points"], results.get("http", {})),
        )
    search = results.get("search")
    if search:
        rows = ["| caller | p50 ms | p99 ms | matches |", "|---|---:|---:|---:|"]
        for caller, f in search.items():
            rows.append(f"| {caller} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['total']:,} |")
        out += _section("360 search, 200 sequential requests", "\n".join(rows))
    return out


def stage_changes_table(points: Mapping[str, Any], http: Mapping[str, Any]) -> str:
    """Each point's rate with its ratio to plain CRUD's registrations at the same
    connections in the same run (one durable write per request in both), and its CPU."""
    rows = [
        "| conn. | stage changes/s | plain CRUD, same run | ratio | p50 ms | p99 ms"
        " | CPU per change, µs |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c, point in sorted(points.items(), key=lambda kv: -int(kv[0])):
        rate = float(point["wrk"]["rate"])
        plain = rate_of(http, "plain", int(c))
        to_plain = ratio(rate, plain)
        spent = sum(
            us for name, us in point["cpu_us_per_command"].items() if not name.startswith("wrk")
        )
        rows.append(
            f"| {c} | {_cell(rate, point['wrk']['failures'])} | {_cell(plain)}"
            f" | {'n/a' if to_plain is None else f'{to_plain:.2f}x'}"
            f" | {point['wrk']['p50_ms']:.1f} | {point['wrk']['p99_ms']:.1f} | {spent:,.0f} |"
        )
    return "\n".join(rows)


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _processes(count: int) -> str:
    return "one process" if count == 1 else f"{count} processes"


def rebuild_limit(
    cpu_s: Mapping[str, float],
    seconds: float,
    other_s: float = 0.0,
    cores: int | None = None,
    processes: int = 1,
) -> str:
    """Which component held the rebuild back, read from CPU: the machine when its cores
    were nearly all busy (the rebuild's processes, PostgreSQL and the rest together); else
    a process near one full core, bound by its own (single-threaded Python) CPU; else, when
    other jobs kept the cores busy, those jobs; else it waited (disk, broker, the other
    side). The rebuild's entry (``rebuild...``) covers its ``processes``: it is at full
    CPU only near that many cores."""
    if seconds <= 0 or not cpu_s:
        return "unknown"
    cores = cores or os.cpu_count() or 1
    busiest, used = max(cpu_s.items(), key=lambda kv: kv[1])
    busy = (sum(cpu_s.values()) + other_s) / seconds
    if busy >= 0.85 * cores:
        return (
            f"the machine's {cores} cores ({busy:.1f} busy; {busiest} {used / seconds:.1f} cores)"
        )
    width = processes if busiest.startswith("rebuild") else 1
    share = f"{used / seconds:.0%} of {'a core' if width == 1 else f'{width} cores'}"
    if used / seconds >= 0.8 * width:
        return f"{busiest} CPU ({share})"
    if other_s / seconds >= 0.5:
        return (
            f"other jobs on the machine ({other_s / seconds:.1f} cores busy beside it;"
            f" busiest of ours: {busiest}, {share})"
        )
    return f"none at full CPU (busiest: {busiest}, {share}): waiting"
