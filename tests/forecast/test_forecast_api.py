"""The pipeline forecast over the real broker and PostgreSQL: the sales events published,
the forecast read now and as of a past instant, with figures computed by hand.

Each test keeps its deals in a department of its own and reads as that department's
manager, so the tests share the read model without seeing each other's deals. Exchange
rates are global: the rate tests use currencies no other test records (CHF, NOK)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
from openpyxl import load_workbook
from psycopg import AsyncConnection

from crm_shared.auth.principal import Role
from tests.e2e.conftest import eventually
from tests.forecast.conftest import ForecastService
from tests.projections.specs.deals import (
    changed,
    lost,
    opened,
    pipeline_defined,
    quota,
    rate,
    staged,
    story,
    won,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _department() -> str:
    return f"dept-{uuid4().hex[:8]}"


def _deals_of_three(department: str) -> list[Any]:
    """Alice wins A and works on B; Bob loses C (the story of the module's docstring)."""
    a = story(
        ("2026-10-01T09:00", opened("1000", close_date=date(2026, 11, 15), department=department)),
        ("2026-10-10T09:00", staged("negotiation", 80, "commit")),
        ("2026-11-02T09:00", won("1200", date(2026, 11, 2))),
    )
    b = story(
        ("2026-10-02T09:00", opened("2000", close_date=date(2026, 12, 10), department=department)),
        ("2026-10-20T09:00", staged("proposal", 50, "best_case")),
    )
    c = story(
        (
            "2026-10-03T09:00",
            opened("500", close_date=date(2026, 12, 1), owner="bob", department=department),
        ),
        ("2026-10-25T09:00", lost(date(2026, 10, 25))),
    )
    target = story(("2026-10-01T08:00", quota("10000", owner="alice", department=department)))
    return [*a, *b, *c, *target]


async def _forecast(service: ForecastService, department: str, **params: str) -> httpx.Response:
    return await service.client.get(
        "/v1/forecast",
        params={"period": "2026-Q4", "currency": "USD", **params},
        headers=service.auth(department),
    )


async def _settled(
    service: ForecastService,
    department: str,
    until: Callable[[dict[str, Any]], bool],
    **params: str,
) -> dict[str, Any]:
    """The forecast once the consumer has applied what the test published (each aggregate
    is on its own partition, so they arrive in any order)."""

    async def probe() -> dict[str, Any] | None:
        answer = await _forecast(service, department, **params)
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 and until(body) else None

    return await eventually(probe, within=30)


def _counted(deals: int) -> Callable[[dict[str, Any]], bool]:
    def decided(body: dict[str, Any]) -> bool:
        total = body["total"]
        return bool(total["open_count"] + total["won_count"] + total["lost_count"] == deals)

    return decided


def _all_three(body: dict[str, Any]) -> bool:
    """Three deals counted and Alice's quota in."""
    return _counted(3)(body) and any(line["quota"] for line in body["lines"])


def _line(body: dict[str, Any], group: str) -> dict[str, Any]:
    return next(line for line in body["lines"] if line["group"] == group)


async def test_the_forecast_now_counts_won_lost_and_open_deals_by_owner(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    await forecast_service.publish(_deals_of_three(department))

    body = await _settled(forecast_service, department, _all_three)

    alice, bob = _line(body, "alice"), _line(body, "bob")
    assert {k: alice[k] for k in ("closed", "commit_forecast", "best_case_forecast")} == {
        "closed": "1200.00",
        "commit_forecast": "1200.00",
        "best_case_forecast": "3200.00",
    }
    assert (alice["open_pipeline"], alice["weighted_pipeline"], alice["open_count"]) == (
        "2000.00",
        "1000.00",
        1,
    )
    assert (alice["won_count"], alice["average_sales_cycle_days"]) == (1, "32.0")
    assert (alice["quota"], alice["attainment"], alice["gap_to_quota"]) == (
        "10000.00",
        "12.0",
        "8800.00",
    )
    assert (bob["lost_count"], bob["lost_amount"], bob["win_rate_by_count"]) == (1, "500.00", "0.0")
    assert (body["total"]["win_rate_by_count"], body["total"]["win_rate_by_amount"]) == (
        "50.0",
        "70.6",
    )


async def test_the_forecast_as_of_a_past_instant_is_the_deals_as_they_stood_then(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    await forecast_service.publish(_deals_of_three(department))
    await _settled(forecast_service, department, _all_three)

    answer = await _forecast(forecast_service, department, as_of="2026-10-15T00:00:00Z")

    assert answer.status_code == 200
    body = answer.json()
    alice, bob = _line(body, "alice"), _line(body, "bob")
    # A in negotiation (commit, 80 %), B in prospecting (pipeline, 10 %), C still open.
    assert (alice["closed"], alice["commit_forecast"], alice["best_case_forecast"]) == (
        "0.00",
        "1000.00",
        "1000.00",
    )
    assert (alice["open_pipeline"], alice["weighted_pipeline"], alice["open_count"]) == (
        "3000.00",
        "1000.00",
        2,
    )
    assert (alice["attainment"], alice["gap_to_quota"]) == ("0.0", "10000.00")
    assert (bob["open_pipeline"], bob["weighted_pipeline"], bob["lost_count"]) == (
        "500.00",
        "50.00",
        0,
    )
    assert body["as_of"] == "2026-10-15T00:00:00+00:00"


async def test_grouping_by_stage_puts_each_deal_under_its_stage(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    await forecast_service.publish(_deals_of_three(department))
    await _settled(forecast_service, department, _all_three)

    body = (await _forecast(forecast_service, department, group_by="stage")).json()

    assert [line["group"] for line in body["lines"]] == ["closed_lost", "closed_won", "proposal"]


async def test_a_change_of_exchange_rate_between_two_dates_changes_an_open_deals_value(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    chf = uuid4()
    await forecast_service.publish(
        [
            *story(
                ("2026-10-01T08:00", rate("CHF", date(2026, 10, 1), "1.10")),
                ("2026-10-31T12:00", rate("CHF", date(2026, 11, 1), "1.20")),
                aggregate_id=chf,
            ),
            *story(
                (
                    "2026-10-01T09:00",
                    opened(
                        "1000", "CHF", date(2026, 12, 15), category="commit", department=department
                    ),
                )
            ),
        ]
    )
    # Once both rates are in: at 1.20 from November 1.
    now = await _settled(
        forecast_service, department, lambda b: b["total"]["open_pipeline"] == "1200.00"
    )

    before = (await _forecast(forecast_service, department, as_of="2026-10-20T00:00:00Z")).json()
    in_chf = (await _forecast(forecast_service, department, currency="CHF")).json()

    assert before["total"]["open_pipeline"] == "1100.00"  # 1000 CHF at 1.10 then
    assert now["total"]["open_count"] == 1
    assert in_chf["total"]["open_pipeline"] == "1000.00"


async def test_what_moved_the_forecast_names_the_exchange_rate_effect(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    await forecast_service.publish(
        [
            *story(("2026-10-01T08:00", rate("CHF", date(2026, 10, 1), "1.10"))),
            *story(("2026-10-31T12:00", rate("CHF", date(2026, 11, 1), "1.20"))),
            *story(
                (
                    "2026-10-01T09:00",
                    opened(
                        "1000", "CHF", date(2026, 12, 15), category="commit", department=department
                    ),
                ),
                ("2026-10-21T09:00", changed(amount=Decimal(1500))),
            ),
        ]
    )
    await _settled(forecast_service, department, lambda b: b["total"]["open_pipeline"] == "1800.00")

    answer = await forecast_service.client.get(
        "/v1/forecast/changes",
        params={"period": "2026-Q4", "from": "2026-10-20T00:00:00Z", "currency": "USD"},
        headers=forecast_service.auth(department),
    )

    assert answer.status_code == 200
    totals = {t["kind"]: t["effect"] for t in answer.json()["totals"]}
    # 500 CHF more at the later rate; the earlier 1000 CHF re-priced from 1.10 to 1.20.
    assert totals == {"amount_changed": "600.00", "exchange_rate": "100.00"}


async def test_a_currency_with_no_rate_in_force_is_a_422_naming_the_currency(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    await forecast_service.publish(
        story(
            ("2026-10-01T09:00", opened("1000", "USD", date(2026, 12, 15), department=department))
        )
    )
    await _settled(forecast_service, department, _counted(1))

    answer = await _forecast(forecast_service, department, currency="NOK")

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "no_exchange_rate"
    assert answer.json()["errors"][0]["field"] == "query.currency"


async def test_redelivered_events_change_nothing(forecast_service: ForecastService) -> None:
    department = _department()
    events = _deals_of_three(department)
    await forecast_service.publish(events)
    first = await _settled(forecast_service, department, _all_three)
    rows_before = await _rows(forecast_service, department)

    await forecast_service.publish(events)  # the whole history again, as a re-publish does
    await eventually(forecast_service.applied_everything, within=30)

    again = (await _forecast(forecast_service, department)).json()
    assert (again["lines"], again["total"]) == (first["lines"], first["total"])
    assert await _rows(forecast_service, department) == rows_before


async def _rows(service: ForecastService, department: str) -> int:
    """The department's stored states, current or ended."""
    assert service.settings.database_url
    async with await AsyncConnection.connect(service.settings.database_url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM forecast.deal_states WHERE department = %s", (department,)
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_the_funnel_counts_the_deals_reaching_each_stage(
    forecast_service: ForecastService,
) -> None:
    department, pipeline_id = _department(), uuid4()
    name = f"pipeline-{pipeline_id.hex[:8]}"
    in_it = {"department": department, "pipeline_id": pipeline_id, "pipeline": name}
    await forecast_service.publish(
        [
            *story(("2026-09-01T08:00", pipeline_defined(name)), aggregate_id=pipeline_id),
            *story(
                ("2026-10-01T09:00", opened("1000", **in_it)),
                ("2026-10-03T09:00", staged("proposal", 50, "best_case")),
                ("2026-10-05T09:00", staged("negotiation", 80, "commit", was="proposal")),
            ),
            *story(
                ("2026-10-02T09:00", opened("1000", **in_it)),
                ("2026-10-06T09:00", staged("proposal", 50, "best_case")),
            ),
        ]
    )

    async def funnel_of_two() -> httpx.Response | None:
        answer = await forecast_service.client.get(
            "/v1/forecast/funnel",
            params={"pipeline": name, "period": "2026-Q4"},
            headers=forecast_service.auth(department),
        )
        if answer.status_code != 200:
            return None
        reached = [step["reached"] for step in answer.json()["steps"]]
        return answer if reached[:3] == [2, 2, 1] else None

    answer = await eventually(funnel_of_two, within=30)
    assert answer.status_code == 200
    steps = {s["stage"]: s for s in answer.json()["steps"]}
    assert [steps[s]["reached"] for s in ("prospecting", "proposal", "negotiation")] == [2, 2, 1]
    assert steps["proposal"]["converted_to_next"] == "50.0"
    # Prospecting: 2 days and 4 days; proposal: 2 days (the other deal is still there).
    assert (
        steps["prospecting"]["median_days_in_stage"],
        steps["proposal"]["median_days_in_stage"],
    ) == ("3.0", "2.0")


async def test_the_forecast_as_csv_has_a_row_per_group_and_the_total(
    forecast_service: ForecastService,
) -> None:
    department = _department()
    await forecast_service.publish(_deals_of_three(department))
    await _settled(forecast_service, department, _all_three)

    answer = await forecast_service.client.get(
        "/v1/forecast",
        params={"period": "2026-Q4", "currency": "USD"},
        headers={**forecast_service.auth(department), "Accept": "text/csv"},
    )

    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["group"], r["closed"]) for r in rows] == [
        ("alice", "1200.00"),
        ("bob", "0.00"),
        ("total", "1200.00"),
    ]


async def test_the_forecast_as_xlsx_opens_and_reads_back(forecast_service: ForecastService) -> None:
    department = _department()
    await forecast_service.publish(_deals_of_three(department))
    await _settled(forecast_service, department, _all_three)

    answer = await forecast_service.client.get(
        "/v1/forecast",
        params={"period": "2026-Q4", "currency": "USD"},
        headers={**forecast_service.auth(department), "Accept": XLSX},
    )

    assert answer.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("group", "closed", "commit_forecast")
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("alice", 1200, 3200),
        ("bob", 0, 0),
        ("total", 1200, 3200),
    ]


async def test_an_accept_it_cannot_answer_is_406(forecast_service: ForecastService) -> None:
    answer = await forecast_service.client.get(
        "/v1/forecast",
        params={"period": "2026-Q4"},
        headers={**forecast_service.auth("sales"), "Accept": "application/pdf"},
    )

    assert answer.status_code == 406
    assert answer.json()["code"] == "not_acceptable"


async def test_a_bad_period_currency_or_instant_is_a_422_naming_the_field(
    forecast_service: ForecastService,
) -> None:
    auth = forecast_service.auth("sales")
    for params, field in (
        ({"period": "2026-Q5"}, "query.period"),
        ({"period": "2026-Q4", "currency": "XYZ"}, "query.currency"),
        ({"period": "2026-Q4", "as_of": "yesterday"}, "query.as_of"),
        ({"period": "2026-Q4", "as_of": "2026-10-01T00:00:00"}, "query.as_of"),  # no offset
    ):
        answer = await forecast_service.client.get("/v1/forecast", params=params, headers=auth)

        assert answer.status_code == 422, params
        assert answer.json()["errors"][0]["field"] == field, params


async def test_roles_that_may_not_see_deals_are_refused(forecast_service: ForecastService) -> None:
    answer = await forecast_service.client.get(
        "/v1/forecast",
        params={"period": "2026-Q4"},
        headers=forecast_service.auth("sales", role=Role.SERVICE_AGENT, sub="agent"),
    )

    assert answer.status_code == 403


async def test_a_rep_sees_only_the_deals_of_their_departments(
    forecast_service: ForecastService,
) -> None:
    mine, theirs = _department(), _department()
    await forecast_service.publish(
        [
            *story(("2026-10-01T09:00", opened("700", department=mine))),
            *story(("2026-10-01T09:00", opened("900", department=theirs))),
        ]
    )
    await _settled(forecast_service, theirs, _counted(1))
    await _settled(forecast_service, mine, _counted(1))
    rep = forecast_service.auth(mine, role=Role.SALES_REP, sub="rep")

    body = (
        await forecast_service.client.get(
            "/v1/forecast", params={"period": "2026-Q4", "currency": "USD"}, headers=rep
        )
    ).json()

    assert body["total"]["open_pipeline"] == "700.00"
