"""CPU per process group from /proc/<pid>/stat lines, without running anything."""

from __future__ import annotations

import pytest

from bench.cpu import (
    TICKS_PER_SECOND,
    CpuUsage,
    ProcStat,
    Snapshot,
    group_ticks,
    parse_machine_busy,
    parse_stat,
    usage,
)


def stat_line(
    pid: int, comm: str, utime: int, stime: int, cutime: int = 0, cstime: int = 0, ppid: int = 1
) -> str:
    # Fields 3..17 of proc(5): state ppid pgrp session tty_nr tpgid flags minflt cminflt
    # majflt cmajflt utime stime cutime cstime, then more we do not read.
    return (
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1200 0 0 0"
        f" {utime} {stime} {cutime} {cstime} 20 0 4 0 123456 1000000 2000 18446744073709551615"
    )


def test_a_stat_line_gives_own_and_reaped_cpu() -> None:
    stat = parse_stat(stat_line(4242, "python3.11", utime=150, stime=30, cutime=7, cstime=3))

    assert (stat.pid, stat.comm, stat.ppid) == (4242, "python3.11", 1)
    assert (stat.utime, stat.stime, stat.cutime, stat.cstime) == (150, 30, 7, 3)
    assert stat.ticks == 190


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    stat = parse_stat(stat_line(77, "postgres: wal (writer) x", utime=11, stime=5))

    assert stat.comm == "postgres: wal (writer) x"
    assert (stat.utime, stat.stime) == (11, 5)


def test_a_group_sums_its_processes_and_skips_those_gone() -> None:
    stats = {
        1: parse_stat(stat_line(1, "a", utime=10, stime=5)),
        2: parse_stat(stat_line(2, "b", utime=1, stime=1, cutime=20, cstime=0)),
    }

    assert group_ticks([1, 2, 3], stats.get) == 37


def test_a_child_that_ended_inside_the_window_counts_through_its_parent() -> None:
    # The postmaster reaped a backend that used 40 ticks: its cutime grew by 40.
    before = Snapshot({"postgres": 100}, {"postgres": [1, 2]}, machine_busy=1000)
    after = Snapshot({"postgres": 100 + 40 + 10}, {"postgres": [1]}, machine_busy=1000 + 500)

    used = usage(before, after, wall=5.0, extra={})

    assert used.seconds["postgres"] == pytest.approx(50 / TICKS_PER_SECOND)
    assert used.members["postgres"] == [1, 2]


def test_what_the_groups_did_not_use_is_the_rest_of_the_machine() -> None:
    before = Snapshot({"service": 0}, {"service": [1]}, machine_busy=0)
    after = Snapshot(
        {"service": 2 * TICKS_PER_SECOND}, {"service": [1]}, machine_busy=5 * TICKS_PER_SECOND
    )

    used = usage(before, after, wall=3.0, extra={"wrk": 0.5})

    assert used.seconds == {"service": 2.0, "wrk": 0.5}
    assert used.other == pytest.approx(2.5)


def test_cpu_per_command_is_in_microseconds() -> None:
    used = CpuUsage({"worker": 1.5, "postgres": 0.3}, {}, other=0.0, wall=10.0)

    assert used.per_command_us(1000) == {"worker": 1500.0, "postgres": 300.0}
    assert used.per_command_us(0) == {}


def test_the_machine_is_busy_for_all_but_idle_and_iowait() -> None:
    proc_stat = "cpu  100 5 50 1000 40 3 2 7 0 0\ncpu0 50 2 25 500 20 1 1 3 0 0\n"

    assert parse_machine_busy(proc_stat) == 100 + 5 + 50 + 3 + 2 + 7


def test_proc_stat_fields_are_read_by_position() -> None:
    assert ProcStat(1, "x", 0, 1, 2, 3, 4).ticks == 10
