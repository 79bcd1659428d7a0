"""A process run by `crm up` (a service: `crm serve NAME`), in a process group of its own.

Its own group, because a service with several HTTP workers is a parent and its worker
processes: if the parent is killed, the workers live on holding the port, and the
replacement could not listen. Starting again first kills whatever is left of the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crm_shared.infra.supervisor import ChildSpec


@dataclass
class ServiceProcess:
    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    stop_timeout: float = 15.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @classmethod
    def serve(cls, service: str, env: Mapping[str, str]) -> ServiceProcess:
        """The service as `crm serve SERVICE`."""
        return cls(service, [sys.executable, "-m", "crm_shared.cli", "serve", service], env)

    def start(self) -> None:
        self._kill_leftovers()
        self._process = subprocess.Popen(
            list(self.command), env=dict(self.env), start_new_session=True
        )

    def exit_status(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._kill_leftovers()
        self._process = None

    def _kill_leftovers(self, timeout: float = 5.0) -> None:
        """Kills the processes left in the previous process's group (its orphaned workers)."""
        if self._process is None:
            return
        group = self._process.pid
        self._process.poll()  # reap the leader, if it has ended
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while _alive_in_group(group) and time.monotonic() < deadline:
            time.sleep(0.05)

    def spec(self) -> ChildSpec:
        return ChildSpec(self.name, self.start, self.exit_status, self.stop, self.pid)


def _alive_in_group(group: int) -> bool:
    """Is any process of the group still running? A killed orphan stays a zombie until
    init reaps it, but a zombie holds no port, so only running ones count (where /proc
    tells them apart)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _parent, process_group = stat.read_text().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue  # ended while we looked
        if int(process_group) == group and state != "Z":
            return True
    return False
