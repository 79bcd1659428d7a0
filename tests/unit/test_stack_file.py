"""`crm up` says where everything answers in <data dir>/stack.json while it runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from crm_shared.infra.stack import Stack
from crm_shared.settings import Settings


def planned(tmp_path: Path) -> Stack:
    return Stack.plan(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path,
            database_url=None,
            kafka_bootstrap_servers=None,
            host="127.0.0.1",
            embedded_postgres_port=15432,
            embedded_kafka_port=19092,
            ports={"contacts": 18101, "projections": 18105},
        )
    )


def test_the_stack_runs_postgres_and_the_broker_before_every_service(tmp_path: Path) -> None:
    names = [child.name for child in planned(tmp_path).children]
    assert names == ["postgres", "kafka", "contacts", "projections"]


def test_configured_infrastructure_is_not_started(tmp_path: Path) -> None:
    stack = Stack.plan(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path,
            database_url="postgresql://crm@db:5432/crm",
            kafka_bootstrap_servers="kafka:9092",
        )
    )
    assert [child.name for child in stack.children] == ["contacts", "projections"]
    assert (stack.database_url, stack.bootstrap_servers) == (
        "postgresql://crm@db:5432/crm",
        "kafka:9092",
    )


def test_the_stack_file_says_where_everything_answers(tmp_path: Path) -> None:
    stack = planned(tmp_path)
    stack.write_file()
    described = json.loads((tmp_path / "stack.json").read_text())
    assert described == {
        "pid": os.getpid(),
        "database_url": "postgresql://crm@127.0.0.1:15432/crm",
        "bootstrap_servers": "127.0.0.1:19092",
        "services": {
            "contacts": "http://127.0.0.1:18101",
            "projections": "http://127.0.0.1:18105",
        },
        "children": {"postgres": None, "kafka": None, "contacts": None, "projections": None},
    }


def test_a_clean_stop_removes_the_stack_file(tmp_path: Path) -> None:
    stack = planned(tmp_path)
    stack.write_file()
    stack.remove_file()
    assert not (tmp_path / "stack.json").exists()
