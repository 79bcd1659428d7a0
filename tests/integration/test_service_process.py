"""A service process of `crm up` and the workers it forks, as real processes."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from crm_shared.infra.service_process import ServiceProcess

# A parent that forks a worker, says its pid, and waits: like a service with HTTP workers.
PARENT_WITH_A_WORKER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(worker.pid))
time.sleep(120)
"""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def started_with_a_worker(tmp_path: Path) -> tuple[ServiceProcess, int]:
    said = tmp_path / "worker.pid"
    service = ServiceProcess(
        "contacts", [sys.executable, "-c", PARENT_WITH_A_WORKER, str(said)], dict(os.environ)
    )
    service.start()
    deadline = time.monotonic() + 30
    while not (said.exists() and said.read_text()):
        assert time.monotonic() < deadline, "the parent never forked its worker"
        time.sleep(0.05)
    return service, int(said.read_text())


def test_starting_again_ends_the_workers_a_killed_parent_left_behind(tmp_path: Path) -> None:
    service, worker = started_with_a_worker(tmp_path)
    parent = service.pid()
    assert parent is not None
    os.kill(parent, signal.SIGKILL)
    while service.exit_status() is None:
        time.sleep(0.05)
    assert running(worker), "an orphaned worker outlives its parent"
    service.start()
    try:
        assert not running(worker)
        assert service.exit_status() is None
    finally:
        service.stop()


def test_a_parent_killed_by_a_signal_reports_that_signal(tmp_path: Path) -> None:
    service, _ = started_with_a_worker(tmp_path)
    try:
        pid = service.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while service.exit_status() is None:
            time.sleep(0.05)
        assert service.exit_status() == -signal.SIGKILL
    finally:
        service.stop()


def test_stopping_ends_the_parent_and_its_workers(tmp_path: Path) -> None:
    service, worker = started_with_a_worker(tmp_path)
    service.stop()
    assert not running(worker)
    assert service.pid() is None
