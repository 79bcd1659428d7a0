"""The peers the CRM is measured against in the same run, on the same database and body:
plain CRUD, batched CRUD and the no-database ceiling (bench/baseline_app.py), each as two
uvicorn workers, as the CRM runs its contacts service."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg

from bench.baseline_app import TABLE
from bench.stack import Service, free_port, start_process, wait_http

PEERS = ("ceiling", "plain", "batched")
WORKERS = 2


def prepare(database_url: str) -> None:
    """The peers' table, made once here: two workers creating it at once would race."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS baseline")
        conn.execute(TABLE)


def uvicorn_argv(factory: str, port: int, workers: int) -> list[str]:
    """uvicorn running the app ``factory`` makes, as `crm serve` runs a service."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def start(mode: str, database_url: str, logs: Path) -> Service:
    port = free_port()
    env = {**os.environ, "BASELINE_DATABASE_URL": database_url, "BASELINE_MODE": mode}
    argv = uvicorn_argv("bench.baseline_app:create_app", port, WORKERS)
    process = start_process(argv, env, logs / f"peer-{mode}.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/docs")
    return Service(mode, process, url)
