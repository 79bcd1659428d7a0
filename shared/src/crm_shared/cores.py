"""How many cores this process may use: what a default of "one per core" should count.

``os.cpu_count()`` counts the machine's cores, which in a container is the node's, not
the container's share: the CPUs it is pinned to (``sched_getaffinity``) and its cgroup's
CPU quota (``cpu.max``, cgroup v2: "<quota> <period>", or "max" for none) say more.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cores(cpu_max: Path = CPU_MAX) -> int:
    """The cores this process may run on, rounded up to whole cores, at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = cores or os.cpu_count() or 1
    quota = _quota(cpu_max)
    return max(1, min(cores, math.ceil(quota)) if quota is not None else cores)


def _quota(cpu_max: Path) -> float | None:
    """The cgroup's CPU quota in cores, or None when it sets none (or is not there)."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
