"""CPU seconds per group of processes over a measured window, from /proc.

A process's line in /proc/<pid>/stat holds its own CPU (utime + stime, every thread
included) and that of its children it has waited for (cutime + cstime). Summing both over
the processes a group holds at each end of the window counts a child that started and
ended inside the window (a PostgreSQL backend, a worker) in its parent's reaped time, so
the difference between the two ends is what the group used in between.

CPU time, unlike throughput, is hardly changed by other jobs on the machine: it is the
figure that says where a command's milliseconds go.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

# Group name -> the process ids it holds now (resolved again at each end of a window).
Groups = Mapping[str, list[int]]


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    ppid: int
    utime: int  # ticks
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        """Its own CPU and that of the children it has reaped."""
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(line: str) -> ProcStat:
    """One /proc/<pid>/stat line. The command name sits in parentheses and may itself hold
    spaces and parentheses, so the fields are counted from the last ')'."""
    opening, closing = line.index("("), line.rindex(")")
    fields = line[closing + 2 :].split()
    # fields[0] is field 3 (state) of proc(5); utime is field 14.
    return ProcStat(
        pid=int(line[:opening]),
        comm=line[opening + 1 : closing],
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def parse_machine_busy(proc_stat: str) -> int:
    """Ticks the whole machine spent busy (every CPU), from /proc/stat's ``cpu`` line:
    everything but idle and iowait (guest time is already inside user time)."""
    for line in proc_stat.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            user, nice, system, _idle, _iowait, irq, softirq = values[:7]
            steal = values[7] if len(values) > 7 else 0
            return user + nice + system + irq + softirq + steal
    raise ValueError("no cpu line in /proc/stat")


def read_stat(pid: int, proc: Path = Path("/proc")) -> ProcStat | None:
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None


def group_ticks(pids: list[int], read: Callable[[int], ProcStat | None] = read_stat) -> int:
    total = 0
    for pid in set(pids):
        stat = read(pid)
        if stat is not None:
            total += stat.ticks
    return total


@dataclass(frozen=True)
class Snapshot:
    ticks: dict[str, int]
    members: dict[str, list[int]]
    machine_busy: int


def snapshot(groups: Groups, read: Callable[[int], ProcStat | None] = read_stat) -> Snapshot:
    return Snapshot(
        ticks={name: group_ticks(pids, read) for name, pids in groups.items()},
        members={name: sorted(pids) for name, pids in groups.items()},
        machine_busy=parse_machine_busy(Path("/proc/stat").read_text()),
    )


@dataclass(frozen=True)
class CpuUsage:
    """CPU seconds per group over a window; ``other`` is the rest of the machine's busy
    time (other jobs, the bench itself): large, it says the machine was shared."""

    seconds: dict[str, float]
    members: dict[str, list[int]]
    other: float
    wall: float

    def per_command_us(self, commands: int) -> dict[str, float]:
        if commands <= 0:
            return {}
        return {name: cpu / commands * 1e6 for name, cpu in self.seconds.items()}

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def usage(before: Snapshot, after: Snapshot, wall: float, extra: Mapping[str, float]) -> CpuUsage:
    """What each group used between two snapshots; ``extra`` adds groups measured some
    other way (wrk's own rusage), which count towards the machine's busy time too."""
    seconds = {
        name: max(0, after.ticks[name] - before.ticks.get(name, 0)) / TICKS_PER_SECOND
        for name in after.ticks
    }
    seconds.update(extra)
    members = {
        name: sorted(set(before.members.get(name, [])) | set(pids))
        for name, pids in after.members.items()
    }
    busy = (after.machine_busy - before.machine_busy) / TICKS_PER_SECOND
    return CpuUsage(seconds, members, max(0.0, busy - sum(seconds.values())), wall)
