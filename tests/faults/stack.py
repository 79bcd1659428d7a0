"""The real stack, as `make up` runs it: `crm up` in a subprocess, on a data folder and
ports of its own, with the handles a fault needs (the children's process ids)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.service import installed_services
from crm_shared.settings import Settings
from tests.conftest import free_port

START_WITHIN = 120.0


def running(pid: int) -> bool:
    """Is the process there and not a zombie?"""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


def workers_of(pid: int) -> set[int]:
    """A service's HTTP worker processes (uvicorn spawns them with multiprocessing)."""
    workers = set()
    for child in children_of(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(child)
        except FileNotFoundError:
            continue
    return workers


class CrmUp:
    def __init__(self) -> None:
        # Not under pytest's private tmp: when tests run as root, PostgreSQL runs as an
        # unprivileged user that must reach its data folder.
        self.root = Path(tempfile.mkdtemp(prefix="crm-faults-"))
        self.root.chmod(0o755)
        self.data_dir = self.root / "data"
        self.log_path = self.root / "crm-up.log"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("CRM_DATABASE_URL", "CRM_KAFKA_BOOTSTRAP_SERVERS")
        } | {
            "CRM_DATA_DIR": str(self.data_dir),
            # Every installed service on a free port: a fixed one (sales' 8102) collides
            # with another stack started on the same machine at the same time.
            **{f"CRM_{name.upper()}_PORT": str(free_port()) for name in installed_services()},
            "CRM_EMBEDDED_POSTGRES_PORT": str(free_port()),
            "CRM_EMBEDDED_KAFKA_PORT": str(free_port()),
            "CRM_WORKERS": "2",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crm_shared.cli", "up"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_WITHIN
        while not self.stack_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"crm up exited early:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"crm up not ready in {START_WITHIN} s:\n{self.log_tail()}")
            time.sleep(0.2)

    @property
    def stack(self) -> dict[str, Any]:
        described: dict[str, Any] = json.loads(self.stack_file.read_text())
        return described

    def pid(self, child: str) -> int:
        return int(self.stack["children"][child])

    @property
    def database_url(self) -> str:
        return str(self.stack["database_url"])

    def url(self, service: str) -> str:
        return str(self.stack["services"][service])

    def token(self) -> str:
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        return issue_token(
            settings, principal_id="fault-load", role=Role.ADMIN, departments=["sales"]
        )

    def readiness(self, service: str, timeout: float = 5.0) -> int:
        """/readyz's status code; an unanswered probe fails the test (that is the point)."""
        return httpx.get(f"{self.url(service)}/readyz", timeout=timeout).status_code

    def stop(self) -> int:
        """SIGTERM, as a container runtime sends; returns crm up's exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"crm up did not stop:\n{self.log_tail()}") from None
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def supervisor_lines(self) -> list[str]:
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if " crm up: " in line
        ]

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
