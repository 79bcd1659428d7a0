"""Assigning leads by the rules as a client does, over the real PostgreSQL and broker:
managers set territories and reps, leads registered without an owner go round-robin within
their territory's team (skipping inactive reps), ``POST /v1/leads/{id}/assign`` assigns by
the same rules, and each assignment is an event on ``crm.sales.events`` saying who and why.

The rules are one record for the whole service: each test sets the territories it needs
and names teams and reps of its own; the territories are cleared after each test, so that
the unowned leads of other tests stay unassigned."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, eventually
from tests.integration.kafka_tools import read_all

PROBLEM = "application/problem+json"
TOPIC = "crm.sales.events"
# The first lead waits for the consumer group to hand out the partitions (seconds).
WITHIN = 60.0


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def manager(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.MANAGER, "sales", "mia")


def new_team() -> str:
    return f"team-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
async def no_territories_after(stack: Stack) -> AsyncIterator[None]:
    yield
    cleared = await put_territories(stack, [])
    assert cleared.status_code == 200, cleared.text


async def put_territories(
    stack: Stack, territories: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await sales(stack).put(
        "/v1/assignment-rules/territories",
        json={"territories": territories},
        headers=headers or manager(stack),
    )


async def put_rep(
    stack: Stack, user: str, team: str, active: bool = True, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await sales(stack).put(
        f"/v1/assignment-rules/reps/{user}",
        json={"team": team, "active": active},
        headers=headers or manager(stack),
    )


async def roster(stack: Stack, team: str, *reps: tuple[str, bool]) -> list[str]:
    """Puts the team's reps on the roster in this order; their user ids."""
    users = []
    for name, active in reps:
        user = f"{team}-{name}"
        response = await put_rep(stack, user, team, active)
        assert response.status_code == 200, response.text
        users.append(user)
    return users


async def register_unowned(stack: Stack, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Grace", "owner": None, **fields}
    response = await sales(stack).post("/v1/leads", json=body, headers=manager(stack))
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def assign(stack: Stack, lead_id: str) -> httpx.Response:
    return await sales(stack).post(f"/v1/leads/{lead_id}/assign", headers=manager(stack))


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    errors: list[dict[str, Any]] = response.json()["errors"]
    return str(errors[0]["field"])


async def test_unowned_leads_go_round_robin_in_their_territorys_team_skipping_inactive_reps(
    stack: Stack,
) -> None:
    team = new_team()
    ana, _, cid = await roster(stack, team, ("ana", True), ("ben", False), ("cid", True))
    put = await put_territories(stack, [{"team": team, "countries": ["PT"]}])
    assert put.status_code == 200, put.text

    leads = [await register_unowned(stack, country="PT") for _ in range(3)]

    assert [(lead["owner"], lead["team"]) for lead in leads] == [
        (ana, team),
        (cid, team),
        (ana, team),
    ]


async def test_the_lead_list_shows_the_new_owner_and_team(stack: Stack) -> None:
    team = new_team()
    (ana,) = await roster(stack, team, ("ana", True))
    await put_territories(stack, [{"team": team, "regions": ["Iberia"]}])
    lead = await register_unowned(stack, region="Iberia")

    async def listed() -> list[dict[str, Any]] | None:
        response = await sales(stack).get(
            "/v1/leads", params={"team": team}, headers=manager(stack)
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return items or None

    (row,) = await eventually(listed, within=WITHIN)
    assert (row["id"], row["owner"], row["team"]) == (lead["id"], ana, team)


async def test_a_lead_naming_its_team_skips_the_territories(stack: Stack) -> None:
    territory_team, own_team = new_team(), new_team()
    await roster(stack, territory_team, ("ana", True))
    (bob,) = await roster(stack, own_team, ("bob", True))
    await put_territories(stack, [{"team": territory_team}])  # a catch-all

    lead = await register_unowned(stack, country="PT", team=own_team)

    assert (lead["owner"], lead["team"]) == (bob, own_team)


async def test_assign_gives_an_existing_lead_to_the_next_rep_in_turn(stack: Stack) -> None:
    team = new_team()
    ana, ben = await roster(stack, team, ("ana", True), ("ben", True))
    await put_territories(stack, [{"team": team, "countries": ["NO"]}])
    first = await register_unowned(stack, country="NO")
    # A lead owned by the manager, assigned by the rules afterwards.
    registered = await sales(stack).post(
        "/v1/leads", json={"first_name": "Ada", "country": "NO"}, headers=manager(stack)
    )
    assert registered.json()["owner"] == "mia"

    assigned = await assign(stack, registered.json()["id"])

    assert assigned.status_code == 200, assigned.text
    assert (first["owner"], assigned.json()["owner"], assigned.json()["team"]) == (ana, ben, team)


async def test_nobody_eligible_is_a_409_naming_the_reason_and_records_nothing(
    stack: Stack,
) -> None:
    team = new_team()
    await roster(stack, team, ("ana", False))
    lead = await register_unowned(stack, team=team)  # the registration still succeeds
    assert lead["owner"] is None

    refused = await assign(stack, lead["id"])

    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "no_eligible_rep"
    assert team in refused.json()["detail"]
    unchanged = await sales(stack).get(f"/v1/leads/{lead['id']}", headers=manager(stack))
    assert (unchanged.json()["owner"], unchanged.json()["version"]) == (None, lead["version"])


async def test_a_stale_if_match_on_the_rules_is_412(stack: Stack) -> None:
    read = await sales(stack).get("/v1/assignment-rules", headers=manager(stack))
    stale = read.headers["etag"]
    await roster(stack, new_team(), ("ana", True))  # the rules move on

    response = await sales(stack).put(
        "/v1/assignment-rules/territories",
        json={"territories": []},
        headers={**manager(stack), "If-Match": stale},
    )

    assert response.status_code == 412
    assert response.headers["content-type"] == PROBLEM


async def test_bad_rules_are_422_naming_the_field(stack: Stack) -> None:
    unknown_country = [{"team": "emea", "countries": ["DE", "UK"]}]
    assert (
        field_of(await put_territories(stack, unknown_country)) == "body.territories.0.countries.1"
    )
    bad_team = [{"team": "not a team!"}]
    assert field_of(await put_territories(stack, bad_team)) == "body.territories.0.team"
    response = await sales(stack).put(
        "/v1/assignment-rules/reps/ana",
        json={"team": "emea", "active": "maybe"},
        headers=manager(stack),
    )
    assert field_of(response) == "body.active"


async def test_a_rep_reads_the_rules_but_cannot_change_them(stack: Stack) -> None:
    rep = stack.auth(Role.SALES_REP, "sales", "rita")
    assert (await sales(stack).get("/v1/assignment-rules", headers=rep)).status_code == 200
    territories = await put_territories(stack, [], headers=rep)
    assert (territories.status_code, territories.headers["content-type"]) == (403, PROBLEM)
    assert (await put_rep(stack, "rita", new_team(), headers=rep)).status_code == 403


async def test_concurrent_assignments_give_each_rep_a_fair_share(stack: Stack) -> None:
    team = new_team()
    reps = await roster(stack, team, ("ana", True), ("ben", True), ("cid", True))
    await put_territories(stack, [{"team": team, "countries": ["FI"]}])
    leads = []
    for _ in range(12):
        registered = await sales(stack).post(
            "/v1/leads", json={"first_name": "Ada", "country": "FI"}, headers=manager(stack)
        )
        leads.append(registered.json()["id"])

    responses = await asyncio.gather(*(assign(stack, lead) for lead in leads))

    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses]
    assert Counter(r.json()["owner"] for r in responses) == dict.fromkeys(reps, 4)


async def test_the_assignment_is_an_event_saying_who_and_why(stack: Stack) -> None:
    team = new_team()
    (ana,) = await roster(stack, team, ("ana", True))
    await put_territories(stack, [{"team": new_team(), "countries": ["SE"]}, {"team": team}])
    lead = await register_unowned(stack, country="IS")

    async def assigned() -> list[Any] | None:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", TOPIC)
        events = [
            from_binary_event(KafkaMessage(headers=dict(r.headers), key=r.key, value=r.value))
            for r in records
            if r.key == lead["id"].encode()
        ]
        found = [e for e in events if e.get_type() == "crm.sales.lead.assigned.v1"]
        return found or None

    (event,) = await eventually(assigned, within=WITHIN)
    assert event.get_data() == {"owner": ana, "team": team, "rule": "territory", "territory": 2}


async def test_a_retried_registration_answers_its_first_assignment(stack: Stack) -> None:
    team = new_team()
    ana, _ = await roster(stack, team, ("ana", True), ("ben", True))
    headers = {**manager(stack), "Idempotency-Key": uuid.uuid4().hex}
    body = {"first_name": "Grace", "owner": None, "team": team}

    first = await sales(stack).post("/v1/leads", json=body, headers=headers)
    again = await sales(stack).post("/v1/leads", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert first.json()["owner"] == ana


async def test_a_manager_reassigning_a_lead_by_hand_may_set_its_team(stack: Stack) -> None:
    team = new_team()
    lead = await register_unowned(stack, team=team)  # nobody on the roster: unassigned

    moved = await sales(stack).put(
        f"/v1/leads/{lead['id']}/assignment",
        json={"owner": "bob", "department": "sales", "team": "inside-sales"},
        headers=manager(stack),
    )

    assert moved.status_code == 200, moved.text
    assert (moved.json()["owner"], moved.json()["team"]) == ("bob", "inside-sales")
