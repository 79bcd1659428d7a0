"""The lead list (GET /v1/leads) as a client uses it, over the real PostgreSQL and broker:
leads registered over HTTP reach the sales service's own read model through its topic,
then are filtered, searched, sorted and paged, within the caller's departments.

Every test registers its leads in a team of its own and filters by it, so that the leads
of other tests in the shared stack do not show."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from crm_shared.auth.principal import Role
from crm_shared.http.readiness import READY
from crm_shared.projections.paging import encode_cursor
from tests.e2e.conftest import Stack, eventually

PROBLEM = "application/problem+json"
# The first lead waits for the consumer group to hand out the partitions (seconds).
WITHIN = 60.0


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def new_team() -> str:
    return f"team-{uuid.uuid4().hex[:10]}"


async def register(stack: Stack, team: str, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Grace", "last_name": "Hopper", "team": team, **fields}
    response = await sales(stack).post("/v1/leads", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(
    stack: Stack, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = await sales(stack).get("/v1/leads", params=params, headers=headers or stack.auth())
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def all_listed(stack: Stack, team: str, count: int, **params: Any) -> list[dict[str, Any]]:
    """The team's leads once ``count`` of them are listed (the list is eventually consistent)."""

    async def probe() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await listed(stack, team=team, **params))["items"]
        return items if len(items) >= count else None

    return await eventually(probe, within=WITHIN)


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_registered_leads_are_listed_newest_first(stack: Stack) -> None:
    team = new_team()
    leads = [await register(stack, team, company_name=f"Company {i}") for i in range(3)]
    items = await all_listed(stack, team, 3)
    assert ids(items) == [lead["id"] for lead in reversed(leads)]
    first = items[-1]
    assert (first["name"], first["company_name"], first["status"], first["team"]) == (
        "Grace Hopper",
        "Company 0",
        "new",
        team,
    )


async def test_the_list_follows_status_changes_and_filters_by_status(stack: Stack) -> None:
    team = new_team()
    worked, untouched = await register(stack, team), await register(stack, team)
    response = await sales(stack).post(f"/v1/leads/{worked['id']}/work", headers=stack.auth())
    assert response.status_code == 200, response.text
    working = await all_listed(stack, team, 1, status="working")
    assert ids(working) == [worked["id"]]
    new = (await listed(stack, team=team, status="new"))["items"]
    assert ids(new) == [untouched["id"]]


async def test_the_list_filters_by_owner(stack: Stack) -> None:
    team = new_team()
    await register(stack, team, owner="alice")
    bobs = await register(stack, team, owner="bob")
    await all_listed(stack, team, 2)
    assert ids((await listed(stack, team=team, owner="bob"))["items"]) == [bobs["id"]]


async def test_q_finds_leads_by_name_email_or_company_whatever_the_case(stack: Stack) -> None:
    team = new_team()
    ada = await register(
        stack, team, first_name="Ada", last_name="Lovelace", email="ada@engine.example"
    )
    acme = await register(stack, team, first_name="Alan", company_name="Acme Widgets")
    await all_listed(stack, team, 2)

    async def found(q: str) -> list[str]:
        return ids((await listed(stack, team=team, q=q))["items"])

    assert await found("LOVELACE") == [ada["id"]]
    assert await found("Engine.Example") == [ada["id"]]
    assert await found("acme w") == [acme["id"]]
    assert await found("nobody-by-this-name") == []


async def test_the_list_sorts_by_score_and_by_name(stack: Stack) -> None:
    team = new_team()
    await register(stack, team, first_name="Carol", job_title="Engineer")
    await register(stack, team, first_name="alice", job_title="CTO", company_size=5000)
    await register(stack, team, first_name="Bob", job_title="Engineering Manager")
    await all_listed(stack, team, 3)
    by_score = (await listed(stack, team=team, sort="-score"))["items"]
    assert [i["first_name"] for i in by_score] == ["alice", "Bob", "Carol"]
    assert by_score[0]["score"] > by_score[1]["score"] > by_score[2]["score"]
    by_name = (await listed(stack, team=team, sort="name"))["items"]
    assert [i["first_name"] for i in by_name] == ["alice", "Bob", "Carol"]
    by_name_desc = (await listed(stack, team=team, sort="-name"))["items"]
    assert [i["first_name"] for i in by_name_desc] == ["Carol", "Bob", "alice"]


async def test_cursors_page_through_every_lead_once_in_order(stack: Stack) -> None:
    team = new_team()
    leads = [await register(stack, team, first_name=f"Lead {i}") for i in range(5)]
    await all_listed(stack, team, 5)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"team": team, "sort": "created", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await listed(stack, **params)
        assert page["total"] == 5
        seen += ids(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [lead["id"] for lead in leads]
    assert pages == 3


async def test_a_caller_lists_only_the_leads_of_their_departments(stack: Stack) -> None:
    team = new_team()
    in_sales = await register(stack, team)
    in_emea = await register(stack, team, department="emea")
    await all_listed(stack, team, 2)  # the admin sees both
    rep = stack.auth(Role.SALES_REP, "sales", sub="rep")
    assert ids((await listed(stack, rep, team=team))["items"]) == [in_sales["id"]]
    assert (await listed(stack, rep, team=team))["total"] == 1
    manager = stack.auth(Role.MANAGER, "emea", sub="emea-manager")
    assert ids((await listed(stack, manager, team=team))["items"]) == [in_emea["id"]]


async def test_a_cursor_this_api_did_not_return_is_a_422_naming_the_cursor(stack: Stack) -> None:
    # Not a cursor at all; and one well formed, but whose key is no score.
    for cursor in ("not-a-cursor", encode_cursor("not a score", str(uuid.uuid4()))):
        response = await sales(stack).get(
            "/v1/leads", params={"cursor": cursor, "sort": "score"}, headers=stack.auth()
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]


async def test_bad_parameters_are_a_422_naming_the_parameter(stack: Stack) -> None:
    for params, field in (
        ({"sort": "shoe-size"}, "query.sort"),
        ({"status": "asleep"}, "query.status"),
        ({"limit": 0}, "query.limit"),
        ({"q": "a\x00b"}, "query.q"),
    ):
        response = await sales(stack).get("/v1/leads", params=params, headers=stack.auth())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_the_lead_list_reports_in_readiness(stack: Stack) -> None:
    async def ready() -> dict[str, Any] | None:
        body: dict[str, Any] = (await sales(stack).get("/readyz")).json()
        return body if body["checks"].get("lead_list") == READY else None

    await eventually(ready, within=WITHIN)
