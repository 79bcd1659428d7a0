"""With a stack running, the operator's commands find it from its stack file: no variable
to export (what `make up` gives: `crm up` writes the file while it runs)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from crm_shared.cli import app as crm
from crm_shared.settings import get_settings
from tests.e2e.conftest import Stack, register_contact


@pytest.fixture
def described(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The e2e stack described as `crm up` describes its own; nothing else in the environment."""
    (tmp_path / "stack.json").write_text(
        json.dumps(
            {
                "pid": os.getpid(),  # this process runs the stack
                "database_url": stack.settings.database_url,
                "bootstrap_servers": stack.settings.kafka_bootstrap_servers,
                "embedded": True,
                "services": stack.settings.service_urls,
                "children": {},
            }
        )
    )
    for variable in (
        "CRM_DATABASE_URL",
        "CRM_KAFKA_BOOTSTRAP_SERVERS",
        "CRM_AUTH_DATABASE_URL",
        "CRM_SERVICE_URLS",
        "CRM_EMBEDDED",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*command: str) -> Result:
    return CliRunner().invoke(crm, list(command))


def test_api_keys_are_managed_without_a_variable(described: None) -> None:
    name = f"stackfile-{uuid.uuid4().hex[:6]}"
    created = run("apikey", "create", "--name", name, "--role", "marketer")
    assert created.exit_code == 0, created.output
    assert name in run("apikey", "list").output


def test_projection_status_needs_no_variable(described: None) -> None:
    status = run("projections", "status")
    assert status.exit_code == 0, status.output
    assert "customer360" in status.output


def test_dead_letters_are_listed_without_a_variable(described: None) -> None:
    listed = run("dlq", "list")
    assert listed.exit_code == 0, listed.output
    assert "dead letter(s) pending" in listed.output


async def test_a_rebuild_fetches_data_keys_where_the_stack_file_says(
    stack: Stack, described: None
) -> None:
    await register_contact(stack, tags=["stackfile"])
    # In a thread: the contacts service answering the key requests runs on this loop.
    rebuilt = await asyncio.to_thread(run, "projections", "rebuild", "customer360")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt customer360" in rebuilt.output
