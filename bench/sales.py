"""Stage changes per second over HTTP: `POST /v1/opportunities/{id}/stage`, from wrk.

    python -m bench.sales [--opportunities 2000] [--seconds 10] [--connections 32 1]

Part of `make bench` (after the registrations, beside the same run's plain CRUD peer), and
runnable alone on a private embedded PostgreSQL and broker with the sales and projections
services (the forecast reads every stage change). The deals are opened over HTTP first (the
setup, not measured); wrk then moves each of them in turn between two open stages, so every
request is a real change recorded as an event, relayed and folded, and none is refused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from bench.measure import measure
from bench.stack import (
    ProcessMap,
    Service,
    crm_env,
    free_port,
    outbox_drained,
    serve,
    stop,
    wait_http,
    wait_until,
)
from bench.wrk import Load, Wrk
from crm_sales.domain.pipeline import NEW_BUSINESS

# Two open stages of the default new-business pipeline: a deal moved there and back.
THERE_AND_BACK = ("proposal", "negotiation")


def pipeline_body() -> dict[str, Any]:
    return {
        # Unique: a pipeline's name is (another bench run may have defined one).
        "name": f"bench-{NEW_BUSINESS.name}-{uuid4().hex[:8]}",
        "stages": [
            {
                "name": stage.name,
                "probability": stage.probability,
                "forecast_category": str(stage.category),
                "outcome": None if stage.outcome is None else str(stage.outcome),
            }
            for stage in NEW_BUSINESS.stages
        ],
    }


def open_deals(url: str, token: str, count: int) -> list[str]:
    """A pipeline and ``count`` deals in it, at its first stage; their ids."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        answer = client.post("/v1/pipelines", json=pipeline_body())
        answer.raise_for_status()
        pipeline_id = answer.json()["id"]
        ids = []
        for n in range(count):
            answer = client.post(
                "/v1/opportunities",
                json={
                    "name": f"bench deal {n}",
                    "pipeline_id": pipeline_id,
                    "amount": "12000.00",
                    "currency": "USD",
                    "close_date": "2026-12-31",
                    "owner": "bench",
                },
            )
            answer.raise_for_status()
            ids.append(answer.json()["id"])
    return ids


def start_sales(
    database_url: str, bootstrap: str, logs: Path, ports: dict[str, int]
) -> dict[str, Service]:
    """Sales and projections (whose forecast consumes the stage changes), ready."""
    env = crm_env(database_url, bootstrap, ports)
    started = {name: serve(name, env, ports[name], logs) for name in ("sales", "projections")}
    for service in started.values():
        wait_http(f"{service.url}/readyz")
    return started


def stage_changes(
    wrk: Wrk,
    url: str,
    token: str,
    deals: list[str],
    connections: list[int],
    seconds: int,
    processes: ProcessMap,
    warmup: int = 2,
) -> dict[str, Any]:
    """One point per connection count, as `make bench` measures registrations: the CPU of
    every process counted until the relay has published what the load wrote."""
    load = Load(
        url,
        b'{"stage": "__ALT__"}',
        token,
        paths=tuple(f"/v1/opportunities/{deal}/stage" for deal in deals),
        alternates=THERE_AND_BACK,
    )
    figures: dict[str, Any] = {}
    database_url = processes.database_url
    for c in connections:
        point, _ = measure(
            wrk,
            load,
            c,
            seconds,
            processes,
            settled=lambda: outbox_drained(database_url, "sales"),
            warmup=warmup,
        )
        figures[str(c)] = point
    return figures


def main() -> None:
    from bench.__main__ import OUT
    from bench.wrk import ensure_wrk
    from crm_shared.auth.tokens import issue_token
    from crm_shared.infra.embedded_kafka import EmbeddedKafka
    from crm_shared.infra.embedded_postgres import EmbeddedPostgres
    from crm_shared.messaging.topics import ensure_topics
    from crm_shared.roles import Role
    from crm_shared.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opportunities", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[32, 1])
    args = parser.parse_args()
    import asyncio

    wrk = Wrk(ensure_wrk())
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-bench-sales-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    kafka = EmbeddedKafka(free_port(), log_file=OUT / "tansu-sales.log")
    services: dict[str, Service] = {}
    try:
        postgres.start()
        postgres.create_database("bench")
        kafka.start()
        asyncio.run(ensure_topics(kafka.bootstrap_servers, 4))
        database_url = str(postgres.database_url("bench"))
        ports = {"contacts": free_port(), "sales": free_port(), "projections": free_port()}
        services = start_sales(database_url, kafka.bootstrap_servers, OUT, ports)
        token = str(
            issue_token(Settings(), principal_id="bench", role=Role.ADMIN, departments=["sales"])
        )
        deals = open_deals(services["sales"].url, token, args.opportunities)
        wait_until(lambda: outbox_drained(database_url, "sales"))
        processes = ProcessMap(database_url, postgres.pid() or 0, kafka.pid())
        processes.services = {name: s.pid for name, s in services.items()}
        processes.single_process = {"projections"}
        figures = stage_changes(
            wrk,
            services["sales"].url,
            token,
            deals,
            args.connections,
            args.seconds,
            processes,
        )
        print(json.dumps(figures, indent=2))
    finally:
        for service in services.values():
            stop(service.process)
        kafka.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
