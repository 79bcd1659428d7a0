"""Rebuilding the forecast on its own: the 360 beside it keeps answering and keeps its
schema and positions (each read model has its own), and the rebuilt forecast answers as
before."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from uuid import uuid4

from psycopg import AsyncConnection

from crm_projections.cli import consumer_settings, rebuild_projection
from crm_shared.auth.principal import Role
from tests.e2e.conftest import eventually
from tests.forecast.conftest import ForecastService
from tests.projections.specs.deals import opened, staged, story, won


async def _schema_oids(database_url: str) -> dict[str, int]:
    async with await AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT nspname, oid::int FROM pg_namespace WHERE nspname IN ('projections', 'forecast')"
        )
        return dict(await cur.fetchall())


async def _forecast(service: ForecastService, department: str) -> dict[str, Any] | None:
    answer = await service.client.get(
        "/v1/forecast",
        params={"period": "2026-Q4", "currency": "USD"},
        headers=service.auth(department),
    )
    body: dict[str, Any] = answer.json()
    return body if answer.status_code == 200 and body["total"]["won_count"] == 1 else None


async def test_a_rebuild_of_the_forecast_swaps_it_alone_while_the_360_keeps_answering(
    forecast_service: ForecastService,
) -> None:
    department = f"dept-{uuid4().hex[:8]}"
    await forecast_service.publish(
        [
            *story(
                ("2026-10-01T09:00", opened("1000", department=department)),
                ("2026-10-05T09:00", staged("proposal", 50, "best_case")),
                ("2026-10-09T09:00", won("900", date(2026, 10, 9))),
            ),
            *story(("2026-10-02T09:00", opened("400", department=department))),
        ]
    )
    before = await eventually(lambda: _forecast(forecast_service, department), within=30)
    database_url = forecast_service.settings.database_url
    assert database_url
    oids = await _schema_oids(database_url)
    admin = forecast_service.auth("sales", role=Role.ADMIN, sub="admin")

    rebuilding = asyncio.create_task(
        rebuild_projection("forecast", consumer_settings(forecast_service.settings))
    )
    answers = []
    while not rebuilding.done():
        answers.append(
            (await forecast_service.client.get("/v1/customers", headers=admin)).status_code
        )
        await asyncio.sleep(0.02)
    rebuilt = await rebuilding

    assert rebuilt.events > 0
    assert answers and set(answers) == {200}
    after = await _schema_oids(database_url)
    assert after["projections"] == oids["projections"]  # the 360 was not touched
    assert after["forecast"] != oids["forecast"]  # the rebuilt forecast took its place
    again = await eventually(lambda: _forecast(forecast_service, department), within=30)
    assert (again["lines"], again["total"]) == (before["lines"], before["total"])


async def test_readiness_names_each_read_model(forecast_service: ForecastService) -> None:
    # Ready or not: this fixture runs no contacts service, so a 360 that finds other
    # tests' sealed contacts events on the session's broker waits for their keys.
    answer = await forecast_service.client.get("/readyz")

    assert {"customer360", "forecast"} <= set(answer.json()["checks"])
