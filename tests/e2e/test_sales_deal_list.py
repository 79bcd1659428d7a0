"""The deal list (GET /v1/opportunities) as a client uses it, over the real PostgreSQL
and broker: deals opened over HTTP reach the sales service's own read model through its
topic, then are filtered, searched, sorted and paged, within the caller's departments.
And pipeline names, unique whatever the case, over the real event store.

Every test opens its deals in a team of its own and filters by it, so that the deals of
other tests in the shared stack do not show."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from crm_shared.auth.principal import Role
from crm_shared.http.readiness import READY
from crm_shared.projections.paging import encode_cursor
from tests.e2e.conftest import Stack, eventually
from tests.e2e.sales_references import a_contact_sales_knows, an_account_sales_knows

PROBLEM = "application/problem+json"
# The first deal waits for the consumer group to hand out the partitions (seconds).
WITHIN = 60.0

STAGES = [
    {"name": "discovery", "probability": 10, "forecast_category": "pipeline"},
    {"name": "proposal", "probability": 50, "forecast_category": "best_case"},
    {"name": "won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
    {"name": "lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
]


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def manager(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.MANAGER, sub="mia")


def new_team() -> str:
    return f"team-{uuid.uuid4().hex[:10]}"


async def define_pipeline(stack: Stack, name: str | None = None) -> dict[str, Any]:
    body = {"name": name or f"deals-{uuid.uuid4().hex[:10]}", "stages": STAGES}
    response = await sales(stack).post("/v1/pipelines", json=body, headers=manager(stack))
    assert response.status_code == 201, response.text
    pipeline: dict[str, Any] = response.json()
    return pipeline


async def open_deal(
    stack: Stack, pipeline: dict[str, Any], team: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "name": "Acme: 50 seats",
        "pipeline_id": pipeline["id"],
        "amount": "1000.00",
        "currency": "EUR",
        "close_date": "2026-12-15",
        "team": team,
        **fields,
    }
    response = await sales(stack).post("/v1/opportunities", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    deal: dict[str, Any] = response.json()
    return deal


async def act(stack: Stack, deal: dict[str, Any], action: str, **body: Any) -> None:
    response = await sales(stack).post(
        f"/v1/opportunities/{deal['id']}/{action}", json=body, headers=stack.auth()
    )
    assert response.status_code == 200, response.text


async def listed(
    stack: Stack, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = await sales(stack).get(
        "/v1/opportunities", params=params, headers=headers or stack.auth()
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def all_listed(stack: Stack, team: str, count: int, **params: Any) -> list[dict[str, Any]]:
    """The team's deals once ``count`` of them are listed (the list is eventually
    consistent)."""

    async def probe() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await listed(stack, team=team, **params))["items"]
        return items if len(items) >= count else None

    return await eventually(probe, within=WITHIN)


async def listed_when(stack: Stack, team: str, **params: Any) -> list[str]:
    return ids((await listed(stack, team=team, **params))["items"])


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_an_opened_deal_is_listed_with_its_fields_and_exact_amount(stack: Stack) -> None:
    team, pipeline = new_team(), await define_pipeline(stack)
    account = (await an_account_sales_knows(stack))["id"]
    contact = (await a_contact_sales_knows(stack))["id"]
    deal = await open_deal(
        stack,
        pipeline,
        team,
        amount="21600.10",
        account_id=account,
        primary_contact_id=contact,
        owner="alice",
    )
    (item,) = await all_listed(stack, team, 1)
    assert item == {
        "id": deal["id"],
        "version": 1,
        "name": "Acme: 50 seats",
        "account_id": account,
        "primary_contact_id": contact,
        "owner": "alice",
        "team": team,
        "department": "sales",
        "pipeline_id": pipeline["id"],
        "pipeline": pipeline["name"],
        "stage": "discovery",
        "status": "open",
        "amount": "21600.10",
        "currency": "EUR",
        "probability": 10,
        "forecast_category": "pipeline",
        "close_date": "2026-12-15",
        "created_at": item["created_at"],
        "updated_at": item["created_at"],
    }


async def test_a_stage_change_a_win_and_a_loss_show_in_the_list(stack: Stack) -> None:
    team, pipeline = new_team(), await define_pipeline(stack)
    moved, won, lost = [await open_deal(stack, pipeline, team) for _ in range(3)]
    await act(stack, moved, "stage", stage="proposal")
    await act(stack, won, "win", closed_on="2026-12-01")
    await act(stack, lost, "lose", reason="budget cut", closed_on="2026-11-20")

    async def settled() -> dict[str, dict[str, Any]] | None:
        items = (await listed(stack, team=team))["items"]
        by_id = {i["id"]: i for i in items}
        return by_id if len(items) == 3 and all(i["version"] == 2 for i in items) else None

    by_id = await eventually(settled, within=WITHIN)
    shown = {
        key: (i["stage"], i["status"], i["probability"], i["forecast_category"], i["close_date"])
        for key, i in (
            ("moved", by_id[moved["id"]]),
            ("won", by_id[won["id"]]),
            ("lost", by_id[lost["id"]]),
        )
    }
    assert shown == {
        "moved": ("proposal", "open", 50, "best_case", "2026-12-15"),
        "won": ("won", "won", 100, "closed", "2026-12-01"),
        "lost": ("lost", "lost", 0, "omitted", "2026-11-20"),
    }


async def test_each_filter_finds_its_deals(stack: Stack) -> None:
    team, pipeline = new_team(), await define_pipeline(stack)
    other_pipeline = await define_pipeline(stack)
    account = (await an_account_sales_knows(stack))["id"]
    primary = (await a_contact_sales_knows(stack))["id"]
    champion = (await a_contact_sales_knows(stack, first_name="Grace"))["id"]
    alices = await open_deal(
        stack,
        pipeline,
        team,
        name="Globex renewal",
        owner="alice",
        close_date="2026-10-01",
        account_id=account,
        primary_contact_id=primary,
    )
    with_role = await open_deal(
        stack,
        other_pipeline,
        team,
        name="Initech upsell",
        owner="bob",
        close_date="2026-11-01",
        contact_roles=[{"contact_id": champion, "role": "champion"}],
    )
    committed = await open_deal(
        stack, pipeline, team, owner="bob", close_date="2026-12-01", forecast_category="commit"
    )
    won = await open_deal(stack, pipeline, team, owner="bob", close_date="2027-01-01")
    await act(stack, committed, "stage", stage="proposal")
    await act(stack, won, "win", closed_on="2027-01-01")
    await eventually(
        lambda: _when_versions(stack, team, {committed["id"]: 2, won["id"]: 2}), within=WITHIN
    )
    assert await listed_when(stack, team, owner="alice") == [alices["id"]]
    assert await listed_when(stack, team, pipeline=other_pipeline["id"]) == [with_role["id"]]
    assert await listed_when(stack, team, stage="proposal") == [committed["id"]]
    assert await listed_when(stack, team, status="won") == [won["id"]]
    assert await listed_when(stack, team, forecast_category="commit") == [committed["id"]]
    assert await listed_when(stack, team, close_after="2026-10-01") == [
        with_role["id"],
        committed["id"],
        won["id"],
    ]
    assert await listed_when(stack, team, close_before="2026-11-01") == [alices["id"]]
    assert await listed_when(stack, team, account_id=account) == [alices["id"]]
    assert await listed_when(stack, team, contact_id=primary) == [alices["id"]]
    assert await listed_when(stack, team, contact_id=champion) == [with_role["id"]]
    assert await listed_when(stack, team, q="GLOBEX") == [alices["id"]]
    assert await listed_when(stack, team, q="tech up") == [with_role["id"]]
    assert await listed_when(stack, team, q="nothing-by-this-name") == []


async def _when_versions(stack: Stack, team: str, versions: dict[str, int]) -> bool:
    items = (await listed(stack, team=team))["items"]
    seen = {i["id"]: i["version"] for i in items}
    return len(items) == 4 and all(seen.get(k) == v for k, v in versions.items())


async def test_the_list_sorts_by_close_date_amount_update_and_name(stack: Stack) -> None:
    team, pipeline = new_team(), await define_pipeline(stack)
    b = await open_deal(stack, pipeline, team, name="beta", amount="9.50", close_date="2026-12-03")
    a = await open_deal(stack, pipeline, team, name="Alpha", amount="100", close_date="2026-12-02")
    c = await open_deal(stack, pipeline, team, name="gamma", amount="10", close_date="2026-12-01")
    await all_listed(stack, team, 3)
    await act(stack, a, "stage", stage="proposal")  # the last one updated

    async def updated_last() -> list[str] | None:
        order = await listed_when(stack, team, sort="-updated")
        return order if order and order[0] == a["id"] else None

    assert await eventually(updated_last, within=WITHIN) == [a["id"], c["id"], b["id"]]
    assert await listed_when(stack, team, sort="updated") == [b["id"], c["id"], a["id"]]
    assert await listed_when(stack, team, sort="close_date") == [c["id"], a["id"], b["id"]]
    assert await listed_when(stack, team, sort="-close_date") == [b["id"], a["id"], c["id"]]
    assert await listed_when(stack, team, sort="amount") == [b["id"], c["id"], a["id"]]
    assert await listed_when(stack, team, sort="-amount") == [a["id"], c["id"], b["id"]]
    assert await listed_when(stack, team, sort="name") == [a["id"], b["id"], c["id"]]


async def test_cursors_page_through_every_deal_once_in_order(stack: Stack) -> None:
    team, pipeline = new_team(), await define_pipeline(stack)
    # Two deals share each amount: the id orders them, and no page repeats or skips one.
    deals = [await open_deal(stack, pipeline, team, amount=str(10 + i // 2)) for i in range(5)]
    await all_listed(stack, team, 5)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"team": team, "sort": "-amount", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await listed(stack, **params)
        assert page["total"] == 5
        seen += ids(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(deals, key=lambda d: (d["amount"], d["id"]), reverse=True)
    assert seen == [d["id"] for d in expected]
    assert pages == 3


async def test_a_rep_lists_only_the_deals_of_their_department(stack: Stack) -> None:
    team, pipeline = new_team(), await define_pipeline(stack)
    in_sales = await open_deal(stack, pipeline, team)
    in_emea = await open_deal(stack, pipeline, team, department="emea")
    await all_listed(stack, team, 2)  # the admin sees both
    rep = stack.auth(Role.SALES_REP, "sales", sub="rep")
    page = await listed(stack, rep, team=team)
    assert (ids(page["items"]), page["total"]) == ([in_sales["id"]], 1)
    emea = stack.auth(Role.SALES_REP, "emea", sub="emea-rep")
    assert ids((await listed(stack, emea, team=team))["items"]) == [in_emea["id"]]


async def test_bad_parameters_are_a_422_naming_the_parameter(stack: Stack) -> None:
    for params, field in (
        ({"sort": "shoe-size"}, "query.sort"),
        ({"status": "asleep"}, "query.status"),
        ({"forecast_category": "maybe"}, "query.forecast_category"),
        ({"pipeline": "not-an-id"}, "query.pipeline"),
        ({"account_id": "not-an-id"}, "query.account_id"),
        ({"contact_id": "42"}, "query.contact_id"),
        ({"close_after": "tomorrow"}, "query.close_after"),
        ({"close_before": "2026-13-01"}, "query.close_before"),
        ({"limit": 0}, "query.limit"),
        ({"q": "a\x00b"}, "query.q"),
        ({"owner": "a\x00b"}, "query.owner"),
    ):
        response = await sales(stack).get("/v1/opportunities", params=params, headers=stack.auth())
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_cursor_this_api_did_not_return_is_a_422_naming_the_cursor(stack: Stack) -> None:
    # Not a cursor at all; and one well formed, but whose key is no amount.
    for cursor in ("not-a-cursor", encode_cursor("not an amount", str(uuid.uuid4()))):
        response = await sales(stack).get(
            "/v1/opportunities", params={"cursor": cursor, "sort": "amount"}, headers=stack.auth()
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]


async def test_the_deal_list_reports_in_readiness(stack: Stack) -> None:
    async def ready() -> dict[str, Any] | None:
        body: dict[str, Any] = (await sales(stack).get("/readyz")).json()
        return body if body["checks"].get("deal_list") == READY else None

    await eventually(ready, within=WITHIN)


# --- pipeline names ------------------------------------------------------------------


def assert_name_taken(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "pipeline_name_taken"
    assert [e["field"] for e in problem["errors"]] == ["body.name"]


async def test_defining_a_pipeline_with_a_taken_name_is_a_409_naming_the_name(
    stack: Stack,
) -> None:
    taken = await define_pipeline(stack)
    response = await sales(stack).post(
        "/v1/pipelines",
        json={"name": taken["name"].upper(), "stages": STAGES},
        headers=manager(stack),
    )
    assert_name_taken(response)


async def test_renaming_a_pipeline_to_a_taken_name_is_a_409_naming_the_name(
    stack: Stack,
) -> None:
    taken, renamed = await define_pipeline(stack), await define_pipeline(stack)
    response = await sales(stack).patch(
        f"/v1/pipelines/{renamed['id']}", json={"name": taken["name"]}, headers=manager(stack)
    )
    assert_name_taken(response)


async def test_the_name_of_an_archived_pipeline_may_be_taken_again(stack: Stack) -> None:
    archived = await define_pipeline(stack)
    response = await sales(stack).post(
        f"/v1/pipelines/{archived['id']}/archive", headers=manager(stack)
    )
    assert response.status_code == 200, response.text
    assert (await define_pipeline(stack, archived["name"]))["name"] == archived["name"]
