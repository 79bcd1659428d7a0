"""Pipelines and opportunities over the real PostgreSQL and the real broker, as a client
uses them: a manager defines a pipeline, a rep opens a deal in it, moves it through the
stages and wins it; two reps moving the same deal at once; refusals as problems naming the
field; the policy's departments; the deal's events on ``crm.sales.events``; the default
pipelines seeded into the real event store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_sales.cli import seed_pipelines
from crm_sales.default_pipelines import default_pipeline_id
from crm_sales.domain.pipeline import NEW_BUSINESS, RENEWALS
from crm_shared.auth.principal import Role
from crm_shared.http.command_lane import CommandLane
from crm_shared.service import installed_services, load
from tests.e2e.conftest import Stack, eventually
from tests.integration.kafka_tools import read_all

PROBLEM = "application/problem+json"
TOPIC = "crm.sales.events"

STAGES = [
    {"name": "discovery", "probability": 10, "forecast_category": "pipeline"},
    {"name": "proposal", "probability": 50, "forecast_category": "best_case"},
    {"name": "negotiation", "probability": 80, "forecast_category": "commit"},
    {"name": "won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
    {"name": "lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
]


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def manager(stack: Stack, department: str = "sales") -> dict[str, str]:
    return stack.auth(Role.MANAGER, department=department, sub="mia")


def rep(stack: Stack, name: str = "rita") -> dict[str, str]:
    return stack.auth(Role.SALES_REP, sub=name)


async def define_pipeline(stack: Stack) -> dict[str, Any]:
    response = await sales(stack).post(
        "/v1/pipelines",
        json={"name": f"partners-{uuid4().hex[:8]}", "stages": STAGES},
        headers=manager(stack),
    )
    assert response.status_code == 201, response.text
    pipeline: dict[str, Any] = response.json()
    return pipeline


async def open_deal(stack: Stack, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    pipeline = await define_pipeline(stack)
    body = {
        "name": "Acme: 50 seats",
        "pipeline_id": pipeline["id"],
        "currency": "EUR",
        "close_date": "2026-12-15",
        "line_items": [
            {"name": "Seats", "quantity": "50", "unit_price": "480.00", "discount_percent": "10"}
        ],
        **fields,
    }
    response = await sales(stack).post("/v1/opportunities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    deal: dict[str, Any] = response.json()
    return deal


async def published(
    stack: Stack, deal_id: str, versions: int
) -> list[ConsumerRecord[bytes, bytes]]:
    async def probe() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", TOPIC)
        own = [r for r in records if r.key == deal_id.encode()]
        return own if len(own) >= versions else None

    return await eventually(probe)


async def test_a_deal_is_opened_moved_through_the_stages_and_won(stack: Stack) -> None:
    deal = await open_deal(stack, rep(stack))
    url = f"/v1/opportunities/{deal['id']}"
    assert (deal["stage"], deal["probability"], deal["forecast_category"]) == (
        "discovery",
        10,
        "pipeline",
    )
    assert (deal["amount"], deal["currency"], deal["owner"]) == ("21600.00", "EUR", "rita")
    by_hand = await sales(stack).patch(url, json={"probability": 35}, headers=rep(stack))
    assert by_hand.status_code == 200, by_hand.text
    for stage, probability, category in (
        ("proposal", 35, "best_case"),
        ("negotiation", 35, "commit"),
    ):
        moved = await sales(stack).post(f"{url}/stage", json={"stage": stage}, headers=rep(stack))
        assert moved.status_code == 200, moved.text
        assert (moved.json()["stage"], moved.json()["probability"]) == (stage, probability)
        assert moved.json()["forecast_category"] == category
    won = await sales(stack).post(
        f"{url}/win", json={"closed_on": "2026-12-11"}, headers=rep(stack)
    )
    assert won.status_code == 200, won.text
    assert (won.json()["status"], won.json()["stage"], won.json()["probability"]) == (
        "won",
        "won",
        100,
    )
    assert (won.json()["close_date"], won.headers["etag"]) == ("2026-12-11", '"5"')
    history = await sales(stack).get(f"{url}/history", headers=rep(stack))
    assert [entry["type"] for entry in history.json()["items"]] == [
        "crm.sales.opportunity.opened.v1",
        "crm.sales.opportunity.forecast_set.v1",
        "crm.sales.opportunity.stage_changed.v1",
        "crm.sales.opportunity.stage_changed.v1",
        "crm.sales.opportunity.won.v1",
    ]


async def test_a_retried_opening_or_win_with_the_same_idempotency_key_answers_the_first(
    stack: Stack,
) -> None:
    pipeline = await define_pipeline(stack)
    keyed = {**rep(stack), "Idempotency-Key": str(uuid4())}
    body = {
        "name": "Globex renewal",
        "pipeline_id": pipeline["id"],
        "amount": "1200.50",
        "currency": "USD",
        "close_date": "2026-11-30",
    }
    first = await sales(stack).post("/v1/opportunities", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    retried = await sales(stack).post("/v1/opportunities", json=body, headers=keyed)
    assert (retried.status_code, retried.headers["idempotent-replayed"]) == (201, "true")
    assert retried.json() == first.json()
    win = f"/v1/opportunities/{first.json()['id']}/win"
    won_key = {**rep(stack), "Idempotency-Key": str(uuid4())}
    won = await sales(stack).post(win, json={"closed_on": "2026-11-20"}, headers=won_key)
    again = await sales(stack).post(win, json={"closed_on": "2026-11-20"}, headers=won_key)
    assert (won.status_code, again.status_code, again.headers["idempotent-replayed"]) == (
        200,
        200,
        "true",
    )
    assert again.json() == won.json()


async def test_a_won_deal_is_final_every_change_a_409_problem(stack: Stack) -> None:
    deal = await open_deal(stack, rep(stack))
    url = f"/v1/opportunities/{deal['id']}"
    assert (await sales(stack).post(f"{url}/win", headers=rep(stack))).status_code == 200
    calls = [
        sales(stack).post(f"{url}/stage", json={"stage": "proposal"}, headers=rep(stack)),
        sales(stack).patch(url, json={"next_step": "upsell"}, headers=rep(stack)),
        sales(stack).post(f"{url}/lose", json={"reason": "changed their mind"}, headers=rep(stack)),
        sales(stack).post(f"{url}/win", headers=rep(stack)),
    ]
    for call in calls:
        refused = await call
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["code"] == "opportunity_closed"


async def test_two_reps_moving_the_same_deal_with_the_same_if_match_get_one_200_one_412(
    stack: Stack,
) -> None:
    # An unowned deal: every rep of the department may work it.
    deal = await open_deal(stack, manager(stack), owner=None)
    url = f"/v1/opportunities/{deal['id']}/stage"
    first, second = await asyncio.gather(
        sales(stack).post(
            url, json={"stage": "proposal"}, headers={**rep(stack, "rita"), "If-Match": '"1"'}
        ),
        sales(stack).post(
            url, json={"stage": "negotiation"}, headers={**rep(stack, "rob"), "If-Match": '"1"'}
        ),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    loser = first if first.status_code == 412 else second
    assert (loser.headers["content-type"], loser.json()["code"]) == (
        PROBLEM,
        "precondition_failed",
    )
    current = await sales(stack).get(f"/v1/opportunities/{deal['id']}", headers=rep(stack))
    assert current.json()["version"] == 2


async def test_bad_input_is_a_422_problem_naming_the_field(stack: Stack) -> None:
    deal = await open_deal(stack, rep(stack))
    url = f"/v1/opportunities/{deal['id']}"
    cases = [
        (
            sales(stack).patch(url, json={"probability": 120}, headers=rep(stack)),
            "body.probability",
        ),
        (sales(stack).patch(url, json={"amount": 99.99}, headers=rep(stack)), "body.amount"),
        (sales(stack).patch(url, json={"amount": "1.00"}, headers=rep(stack)), "body.amount"),
        (
            sales(stack).post(f"{url}/stage", json={"stage": "won"}, headers=rep(stack)),
            "body.stage",
        ),
        (sales(stack).post(f"{url}/lose", json={"reason": " "}, headers=rep(stack)), "body.reason"),
    ]
    for call, field in cases:
        response = await call
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert field in [error["field"] for error in response.json()["errors"]], response.text
    current = await sales(stack).get(url, headers=rep(stack))
    assert current.json()["version"] == 1


async def test_a_pipeline_with_its_stages_out_of_order_is_a_422_naming_the_stages(
    stack: Stack,
) -> None:
    response = await sales(stack).post(
        "/v1/pipelines",
        json={"name": "odd", "stages": [STAGES[3], STAGES[0], STAGES[4]]},
        headers=manager(stack),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.stages"


async def test_a_deal_of_another_department_is_404_on_every_route(stack: Stack) -> None:
    deal = await open_deal(stack, rep(stack))
    url = f"/v1/opportunities/{deal['id']}"
    support = manager(stack, department="support")
    calls = [
        sales(stack).get(url, headers=support),
        sales(stack).get(f"{url}/history", headers=support),
        sales(stack).patch(url, json={"next_step": "call"}, headers=support),
        sales(stack).post(f"{url}/stage", json={"stage": "proposal"}, headers=support),
        sales(stack).post(f"{url}/win", headers=support),
        sales(stack).post(f"{url}/lose", json={"reason": "spam"}, headers=support),
        sales(stack).get(f"/v1/pipelines/{deal['pipeline_id']}", headers=support),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


async def test_a_rep_does_not_define_pipelines(stack: Stack) -> None:
    response = await sales(stack).post(
        "/v1/pipelines", json={"name": "mine", "stages": STAGES}, headers=rep(stack)
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM


async def test_no_deal_opens_in_an_archived_pipeline(stack: Stack) -> None:
    pipeline = await define_pipeline(stack)
    archived = await sales(stack).post(
        f"/v1/pipelines/{pipeline['id']}/archive", json={"reason": "merged"}, headers=manager(stack)
    )
    assert (archived.status_code, archived.json()["archived"]) == (200, True)
    refused = await sales(stack).post(
        "/v1/opportunities",
        json={
            "name": "Late deal",
            "pipeline_id": pipeline["id"],
            "currency": "USD",
            "close_date": "2026-12-31",
        },
        headers=rep(stack),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.pipeline_id"


async def test_the_pipelines_in_sight_are_listed_by_name_without_the_archived_ones(
    stack: Stack,
) -> None:
    kept, dropped = await define_pipeline(stack), await define_pipeline(stack)
    elsewhere = await sales(stack).post(
        "/v1/pipelines",
        json={"name": f"emea-{uuid4().hex[:8]}", "stages": STAGES},
        headers=manager(stack, department="emea"),
    )
    assert elsewhere.status_code == 201, elsewhere.text
    await sales(stack).post(
        f"/v1/pipelines/{dropped['id']}/archive", json={}, headers=manager(stack)
    )

    listed = await sales(stack).get("/v1/pipelines", headers=rep(stack))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    ids = [item["id"] for item in items]
    assert kept["id"] in ids
    assert dropped["id"] not in ids and elsewhere.json()["id"] not in ids
    names = [item["name"].casefold() for item in items]
    assert names == sorted(names)
    (shown,) = [item for item in items if item["id"] == kept["id"]]
    assert [stage["name"] for stage in shown["stages"]] == [s["name"] for s in STAGES]


async def test_the_deals_events_are_cloudevents_on_the_sales_topic(stack: Stack) -> None:
    deal = await open_deal(stack, rep(stack))
    url = f"/v1/opportunities/{deal['id']}"
    await sales(stack).post(f"{url}/stage", json={"stage": "proposal"}, headers=rep(stack))
    await sales(stack).post(f"{url}/lose", json={"reason": "no budget"}, headers=rep(stack))
    records = await published(stack, deal["id"], versions=3)
    events = [
        from_binary_event(KafkaMessage(headers=dict(r.headers), key=r.key, value=r.value))
        for r in records
    ]
    assert [(e.get_type(), e.get_extension("sequence")) for e in events] == [
        ("crm.sales.opportunity.opened.v1", "1"),
        ("crm.sales.opportunity.stage_changed.v1", "2"),
        ("crm.sales.opportunity.lost.v1", "3"),
    ]
    assert all((e.get_source(), e.get_subject()) == ("/crm/sales", deal["id"]) for e in events)
    opened, moved, lost = (e.get_data() for e in events)
    assert isinstance(opened, dict) and isinstance(moved, dict) and isinstance(lost, dict)
    assert (opened["amount"], opened["currency"], opened["stage"]) == (
        "21600.00",
        "EUR",
        "discovery",
    )
    assert (moved["from_stage"], moved["stage"], moved["probability"]) == (
        "discovery",
        "proposal",
        50,
    )
    assert (lost["stage"], lost["reason"]) == ("lost", "no budget")


async def test_the_default_pipelines_are_seeded_once(stack: Stack) -> None:
    first = await asyncio.to_thread(seed_pipelines, stack.settings, "sales")
    again = await asyncio.to_thread(seed_pipelines, stack.settings, "sales")
    assert (sorted(first), again) == (["new_business", "renewals"], [])
    for pipeline in (NEW_BUSINESS, RENEWALS):
        url = f"/v1/pipelines/{default_pipeline_id(pipeline)}"
        seeded = await sales(stack).get(url, headers=rep(stack))
        assert seeded.status_code == 200, seeded.text
        assert (seeded.json()["name"], seeded.json()["owner"]) == (pipeline.name, None)
        assert [s["name"] for s in seeded.json()["stages"]] == [s.name for s in pipeline.stages]


# --- the command lane -------------------------------------------------------------------

# What differs between any two answers, whoever serves them.
VARYING = {"x-correlation-id", "date", "updated_at", "stage_entered_at", "version", "etag"}


@pytest.fixture(scope="module")
async def without_lane(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A second sales process on the same store, with FastAPI serving every command."""
    app = load(installed_services()["sales"].app_factory)(stack.settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not CommandLane]
    async with AsyncExitStack() as exits:
        await exits.enter_async_context(app.router.lifespan_context(app))
        yield await exits.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )


def comparable(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in VARYING}
    body = {k: v for k, v in response.json().items() if k not in VARYING}
    return response.status_code, headers, body


async def test_a_stage_change_answers_alike_with_and_without_the_command_lane(
    stack: Stack, without_lane: httpx.AsyncClient
) -> None:
    deal = await open_deal(stack, rep(stack))
    url = f"/v1/opportunities/{deal['id']}/stage"
    refusals: list[tuple[str, str, dict[str, Any]]] = [
        ("a stale If-Match", url, {"stage": "proposal", "If-Match": '"9"'}),
        ("the won stage", url, {"stage": "won"}),
        ("a stage the pipeline lacks", url, {"stage": "daydreaming"}),
        ("an unknown deal", f"/v1/opportunities/{uuid4()}/stage", {"stage": "proposal"}),
        ("another department", url, {"stage": "proposal", "department": "support"}),
    ]
    for description, target, case in refusals:
        headers = manager(stack, case["department"]) if "department" in case else rep(stack)
        if "If-Match" in case:
            headers = {**headers, "If-Match": case["If-Match"]}
        body = {"stage": case["stage"]}
        by_lane = await sales(stack).post(target, json=body, headers=headers)
        by_fastapi = await without_lane.post(target, json=body, headers=headers)
        assert by_lane.status_code >= 400, description
        assert comparable(by_lane) == comparable(by_fastapi), description
    # Each path moves the deal in turn, on the version the other left.
    by_lane = await sales(stack).post(
        url, json={"stage": "proposal"}, headers={**rep(stack), "If-Match": '"1"'}
    )
    by_fastapi = await without_lane.post(
        url, json={"stage": "negotiation"}, headers={**rep(stack), "If-Match": '"2"'}
    )
    assert (by_lane.status_code, by_fastapi.status_code) == (200, 200)
    assert (by_lane.headers["etag"], by_fastapi.headers["etag"]) == ('"2"', '"3"')
    assert by_fastapi.json()["probability"] == 80
