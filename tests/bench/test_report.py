"""The report: ratios to the peers of the same run and the targets of issue 13."""

from __future__ import annotations

from typing import Any

from bench.report import (
    rebuild_limit,
    render,
    stage_changes_table,
    targets,
    throughput_table,
)


def point(rate: float, failures: int = 0) -> dict[str, Any]:
    return {
        "wrk": {
            "rate": rate,
            "ok": int(rate * 10),
            "seconds": 10.0,
            "failures": failures,
            "non_2xx": failures,
            "socket_errors": 0,
            "p50_ms": 5.0,
            "p90_ms": 9.0,
            "p99_ms": 20.0,
            "client_cpu_s": 0.4,
        },
        "window_s": 11.0,
        "drain_s": 1.0,
        "cpu_s": {"contacts: worker 1": 6.0, "wrk (load generator)": 0.4},
        "cpu_us_per_command": {"contacts: worker 1": 600.0, "wrk (load generator)": 40.0},
        "other_cpu_s": 0.2,
    }


def http(crm_32: float, crm_1: float) -> dict[str, Any]:
    return {
        "plain": {"32": point(1000), "1": point(400)},
        "batched": {"32": point(2000), "1": point(500)},
        "crm": {"32": point(crm_32), "1": point(crm_1)},
    }


def results(crm_32: float = 1400, crm_1: float = 300, **more: Any) -> dict[str, Any]:
    return {
        "date": "2026-11-30 07:00 UTC",
        "command": "python -m bench",
        "note": "",
        "machine": {
            "cpus": 2,
            "cpu": "Xeon",
            "memory_gib": 23.5,
            "python": "3.11.7",
            "wrk": "4.1.0",
            "load_average": "0.1",
        },
        "http": http(crm_32, crm_1),
        **more,
    }


def by_name(found: list[Any]) -> dict[str, Any]:
    return {t.what: t for t in found}


def test_the_crm_cell_carries_its_ratio_to_plain_and_batched_crud() -> None:
    table = throughput_table(http(crm_32=700, crm_1=200))

    assert "**700** (0.70x plain, 0.35x batched)" in table
    assert "**200** (0.50x plain, 0.40x batched)" in table


def test_failed_requests_show_beside_the_figure() -> None:
    figures = http(crm_32=700, crm_1=200)
    figures["plain"]["32"] = point(1000, failures=3)

    assert "1,000 (3 failed)" in throughput_table(figures)


def test_32_connections_pass_at_1_3_times_plain_crud() -> None:
    found = by_name(targets(results(crm_32=1300)))

    assert found["CRM registrations / plain CRUD, 32 conn."].met is True
    assert (
        by_name(targets(results(crm_32=1299)))["CRM registrations / plain CRUD, 32 conn."].met
        is False
    )


def test_1_connection_passes_at_0_8_times_plain_crud() -> None:
    assert by_name(targets(results(crm_1=320)))["CRM registrations / plain CRUD, 1 conn."].met
    assert not by_name(targets(results(crm_1=319)))["CRM registrations / plain CRUD, 1 conn."].met


def test_a_target_not_measured_is_neither_met_nor_failed() -> None:
    found = by_name(targets(results()))

    assert found["event to 360 visible, p99 at 200 commands/s"].met is None
    assert "not measured" in found["customer-360 rebuild, personal fields opened"].line()


def test_latency_rebuild_and_memory_targets() -> None:
    found = by_name(
        targets(
            results(
                latency={"p99_ms": 99.0, "count": 3000, "rate": 200.0},
                rebuild={"events_per_s": 19_000.0, "events": 100_000},
                memory={
                    "at_rest_mb": {"contacts worker 1": 120.0, "projections service": 151.0},
                    "rebuild_peak_mb": {"rebuild": 240.0, "postgres (largest process)": 320.0},
                },
            )
        )
    )

    assert found["event to 360 visible, p99 at 200 commands/s"].met is True
    assert found["customer-360 rebuild, personal fields opened"].met is False
    assert found["memory: largest service process at rest"].met is False
    assert "projections service" in found["memory: largest service process at rest"].measured
    # PostgreSQL's memory is not the CRM's: the target is the largest service process.
    assert found["memory: largest service process during the rebuild"].met is True
    assert "rebuild" in found["memory: largest service process during the rebuild"].measured


def test_the_report_prints_targets_and_cpu_per_command() -> None:
    text = render(results())

    assert "| CRM registrations / plain CRUD, 32 conn. | 1.40x | ≥ 1.3x | ✔ met |" in text
    assert "| contacts: worker 1 | 6.00 | 600 |" in text


def test_a_rebuild_process_near_a_full_core_is_its_own_limit() -> None:
    limit = rebuild_limit({"rebuild process": 9.0, "postgres (all)": 2.0}, seconds=10.0, cores=2)

    assert limit.startswith("rebuild process CPU")


def test_a_rebuild_that_keeps_every_core_busy_names_the_machine() -> None:
    limit = rebuild_limit(
        {"rebuild process": 14.0, "postgres (all)": 3.0}, seconds=10.0, other_s=1.0, cores=2
    )

    assert limit == "the machine's 2 cores (1.8 busy; rebuild process 1.4 cores)"


def test_a_rebuild_in_two_processes_is_at_full_cpu_only_near_two_cores() -> None:
    waiting = rebuild_limit({"rebuild processes": 10.3}, seconds=10.0, cores=4, processes=2)
    bound = rebuild_limit({"rebuild processes": 17.0}, seconds=10.0, cores=4, processes=2)

    assert waiting == "none at full CPU (busiest: rebuild processes, 103% of 2 cores): waiting"
    assert bound == "rebuild processes CPU (170% of 2 cores)"


def test_a_rebuild_with_no_process_near_a_core_was_waiting() -> None:
    limit = rebuild_limit({"rebuild process": 3.0, "postgres (all)": 2.0}, seconds=10.0, cores=2)

    assert limit.startswith("none at full CPU")


def test_a_rebuild_starved_by_other_jobs_names_the_machine() -> None:
    limit = rebuild_limit({"rebuild process": 3.0}, seconds=10.0, other_s=15.0, cores=4)

    assert limit.startswith("other jobs on the machine (1.5 cores busy")


def test_stage_changes_carry_their_ratio_to_plain_crud_and_their_cpu() -> None:
    table = stage_changes_table({"32": point(800), "1": point(200)}, http(1400, 300))

    assert "| 32 | 800 | 1,000 | 0.80x |" in table
    assert "| 1 | 200 | 400 | 0.50x |" in table
    assert "| 600 |" in table  # the services' CPU per change, not wrk's


def test_the_report_shows_stage_changes_when_measured() -> None:
    text = render(results(stage_changes={"deals": 2000, "points": {"32": point(800)}}))

    assert "Stage changes per second over HTTP" in text and "2,000 deals" in text


def test_the_report_says_how_many_processes_the_rebuild_ran_in() -> None:
    rebuild = {
        "events_per_s": 14_000.0,
        "events": 100_000,
        "seconds": 7.1,
        "process_seconds": 9.0,
        "documents": 25_000,
        "cpu_window_s": 7.0,
        "cpu_s": {"rebuild processes": 10.0, "postgres (all)": 2.0},
        "other_cpu_s": 0.1,
        "processes": 2,
        "limit": "none at full CPU (busiest: rebuild processes, 71% of 2 cores): waiting",
    }

    text = render(results(rebuild=rebuild))

    assert "**14,000 events/s** over 100,000 events in 2 processes (7.1 s rebuilding" in text
