"""What "one per core" counts: the cores this process may use, not the machine's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_shared.cores import available_cores

PINNED = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cpu_max(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpu.max"
    path.write_text(text)
    return path


def test_without_a_quota_it_is_the_cpus_the_process_may_run_on(tmp_path: Path) -> None:
    assert available_cores(cpu_max(tmp_path, "max 100000\n")) == PINNED
    assert available_cores(tmp_path / "absent") == PINNED


@pytest.mark.parametrize(("quota", "cores"), [("100000 100000", 1), ("50000 100000", 1)])
def test_a_container_quota_caps_it_rounded_up_to_whole_cores(
    tmp_path: Path, quota: str, cores: int
) -> None:
    assert available_cores(cpu_max(tmp_path, quota)) == cores


def test_a_quota_larger_than_the_cpus_changes_nothing(tmp_path: Path) -> None:
    assert available_cores(cpu_max(tmp_path, f"{(PINNED + 3) * 100000} 100000")) == PINNED


def test_a_file_it_cannot_read_is_no_quota(tmp_path: Path) -> None:
    assert available_cores(cpu_max(tmp_path, "garbage")) == PINNED
    assert available_cores(cpu_max(tmp_path, "100 0")) == PINNED
