"""The operator's commands find the stack `crm up` runs from its stack file, unless the
environment names PostgreSQL or Kafka; a file left by a `crm up` that is gone is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crm_shared.infra.running_stack import RunningStack, StaleStack, with_running_stack
from crm_shared.infra.stack import Stack
from crm_shared.settings import Settings

DATABASE = "postgresql://crm@127.0.0.1:15432/crm"
BROKER = "127.0.0.1:19092"
CONTACTS = "http://127.0.0.1:18101"


def settings(data_dir: Path, **given: Any) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **given)  # type: ignore[call-arg]


def ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def describe(data_dir: Path, pid: int) -> None:
    (data_dir / "stack.json").write_text(
        json.dumps(
            {
                "pid": pid,
                "database_url": DATABASE,
                "bootstrap_servers": BROKER,
                "embedded": True,
                "services": {"contacts": CONTACTS},
                "children": {},
            }
        )
    )


def test_without_a_stack_file_the_settings_are_the_environments(tmp_path: Path) -> None:
    given = settings(tmp_path)
    assert with_running_stack(given) is given


def test_the_running_stack_names_the_database_the_broker_and_the_services(
    tmp_path: Path,
) -> None:
    describe(tmp_path, os.getpid())
    found = with_running_stack(settings(tmp_path))
    assert (found.database_url, found.kafka_bootstrap_servers) == (DATABASE, BROKER)
    assert found.url_of("contacts") == CONTACTS
    assert found.api_keys_database_url == DATABASE


def test_on_the_embedded_stack_the_commands_accept_its_development_secrets(
    tmp_path: Path,
) -> None:
    describe(tmp_path, os.getpid())
    assert with_running_stack(settings(tmp_path)).embedded


@pytest.mark.parametrize(
    "given",
    [
        {"database_url": "postgresql://crm@db:5432/crm"},
        {"kafka_bootstrap_servers": "kafka:9092"},
    ],
)
def test_infrastructure_named_in_the_environment_wins_and_is_not_mixed_with_the_file(
    tmp_path: Path, given: dict[str, str]
) -> None:
    describe(tmp_path, os.getpid())
    found = with_running_stack(settings(tmp_path, **given))
    assert (found.database_url, found.kafka_bootstrap_servers) == (
        given.get("database_url"),
        given.get("kafka_bootstrap_servers"),
    )
    assert not found.embedded


def test_service_urls_and_embedded_given_in_the_environment_win(tmp_path: Path) -> None:
    describe(tmp_path, os.getpid())
    found = with_running_stack(
        settings(tmp_path, service_urls={"contacts": "http://elsewhere:1"}, embedded=False)
    )
    assert found.database_url == DATABASE
    assert (found.url_of("contacts"), found.embedded) == ("http://elsewhere:1", False)


def test_a_file_whose_crm_up_is_gone_is_refused_saying_so(tmp_path: Path) -> None:
    pid = ended_pid()
    describe(tmp_path, pid)
    with pytest.raises(StaleStack, match=rf"`crm up` \(pid {pid}\) is no longer running"):
        with_running_stack(settings(tmp_path))


def test_what_crm_up_writes_is_what_the_commands_read(tmp_path: Path) -> None:
    stack = Stack.plan(
        settings(
            tmp_path,
            host="127.0.0.1",
            embedded_postgres_port=15432,
            embedded_kafka_port=19092,
            ports={"contacts": 18101},
        )
    )
    stack.write_file()
    read = RunningStack.read(tmp_path)
    assert read is not None
    assert (read.pid, read.database_url, read.bootstrap_servers, read.embedded) == (
        os.getpid(),
        DATABASE,
        BROKER,
        True,
    )
    assert read.services["contacts"] == CONTACTS
    assert read.running()
