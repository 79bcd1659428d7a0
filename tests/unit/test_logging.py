"""Logs: readable lines for a person at a terminal, JSON for a collector, the correlation
id on both; CRM_LOG_JSON decides when set."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from crm_shared.observability.context import correlation_id
from crm_shared.observability.logging import configure_logging
from crm_shared.settings import Settings


class Stderr(io.StringIO):
    def __init__(self, *, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


def logged(monkeypatch: pytest.MonkeyPatch, *, terminal: bool, json: bool | None) -> str:
    stderr = Stderr(terminal=terminal)
    monkeypatch.setattr("sys.stderr", stderr)
    configure_logging("contacts", "INFO", json)
    token = correlation_id.set("req-42")
    try:
        logging.getLogger("crm_shared.messaging.relay").warning("broker down, retrying")
    finally:
        correlation_id.reset(token)
    return stderr.getvalue()


READABLE = re.compile(
    r"^\d\d:\d\d:\d\d\.\d{3} WARNING contacts crm_shared\.messaging\.relay: "
    r"broker down, retrying \[req-42\]\n$"
)


def test_on_a_terminal_a_line_is_readable_with_time_level_service_logger_and_correlation_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert READABLE.match(logged(monkeypatch, terminal=True, json=None))


def test_off_a_terminal_a_line_is_json_with_the_same_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = json.loads(logged(monkeypatch, terminal=False, json=None))
    assert {k: line[k] for k in ("level", "logger", "message", "correlation_id", "service")} == {
        "level": "WARNING",
        "logger": "crm_shared.messaging.relay",
        "message": "broker down, retrying",
        "correlation_id": "req-42",
        "service": "contacts",
    }
    assert line["time"]


def test_the_setting_asks_for_json_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.loads(logged(monkeypatch, terminal=True, json=True))
    assert line["message"] == "broker down, retrying"


def test_the_setting_asks_for_readable_lines_off_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert READABLE.match(logged(monkeypatch, terminal=False, json=False))


def test_a_readable_line_without_a_correlation_id_ends_with_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = Stderr(terminal=True)
    monkeypatch.setattr("sys.stderr", stderr)
    configure_logging("projections", "INFO")
    logging.getLogger("crm.test").info("caught up")
    assert stderr.getvalue().endswith(" INFO    projections crm.test: caught up\n")


@pytest.mark.parametrize(("given", "expected"), [(None, None), ("true", True), ("false", False)])
def test_crm_log_json_is_unset_unless_given(
    monkeypatch: pytest.MonkeyPatch, given: str | None, expected: bool | None
) -> None:
    if given is None:
        monkeypatch.delenv("CRM_LOG_JSON", raising=False)
    else:
        monkeypatch.setenv("CRM_LOG_JSON", given)
    assert Settings(_env_file=None).log_json is expected  # type: ignore[call-arg]
