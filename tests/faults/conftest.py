"""Fault injection over the real stack `make up` runs (select with `-m faults`)."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator

import pytest

from tests.faults.stack import CrmUp, running


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: kills and pauses parts of a real `crm up` stack under load"
    )


@pytest.fixture(autouse=True)
def quiet_http_client() -> Iterator[None]:
    """httpx logs every request at INFO: hundreds of lines per run, shown on an xpass."""
    client_log = logging.getLogger("httpx")
    level = client_log.level
    client_log.setLevel(logging.WARNING)
    yield
    client_log.setLevel(level)


@pytest.fixture
def crm_up() -> Iterator[CrmUp]:
    stack = CrmUp()
    children: dict[str, int | None] = {}
    try:
        stack.start()
        yield stack
    finally:
        if stack.stack_file.exists():
            children = stack.stack["children"]
        if stack.process is not None and stack.process.poll() is None:
            stack.stop()
        # Whatever a failed test left behind must not outlive it.
        for pid in children.values():
            if pid and running(pid):
                os.kill(pid, signal.SIGKILL)
        stack.remove()
