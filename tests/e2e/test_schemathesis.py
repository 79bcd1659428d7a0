"""Schemathesis against each service's own OpenAPI document, on real running servers with a
valid token: no 5xx, and every response as documented (status, content type, schema)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.settings import Settings
from tests.conftest import free_port

BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def wait_ready(port: int, timeout: float = 60) -> None:
    # Alive, not ready: the projections service alone is never ready here, since the
    # contacts service that holds the data keys of the topic's events does not run.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the service on {port} did not become ready")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("service", ["contacts", "sales", "projections"])
def test_the_api_keeps_to_its_openapi_document(
    service: str, postgres: EmbeddedPostgres, kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    database = f"st_{service}"
    postgres.create_database(database)
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": postgres.database_url(database),
        "CRM_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        f"CRM_{service.upper()}_PORT": str(port),
        "CRM_WORKERS": "1",
        "CRM_EMBEDDED": "true",  # the test's own PostgreSQL and broker, as `crm up` runs them
        "CRM_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "service.log").open("wb")
    server = subprocess.Popen([str(BIN / "crm"), "serve", service], env=env, stdout=log, stderr=log)
    try:
        wait_ready(port)
        token = issue_token(
            Settings(),
            principal_id="schemathesis",
            role=Role.ADMIN,
            departments=["sales"],
            permissions=["pii:read"],  # so the data-key endpoint is exercised too
        )
        result = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-examples",
                "15",
                "--seed",
                "7",
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "1",
                # A probe answers 503 by design while a read model catches up (documented).
                "--exclude-path",
                "/readyz",
                # Converting a lead calls the contacts service, which does not run here:
                # it answers 503 by design (documented; tests/e2e/test_sales_conversion.py).
                "--exclude-path",
                "/v1/leads/{lead_id}/convert",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-8000:]
    finally:
        server.terminate()
        server.wait(timeout=20)
