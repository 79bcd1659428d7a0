"""The leads API of the sales service as a client uses it, over the real PostgreSQL and the
real broker: registering, reading, changing, qualifying and disqualifying a lead, the
policy's departments, and the lead's events on ``crm.sales.events`` with the person's
details sealed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_shared.auth.principal import Role
from crm_shared.privacy.cipher import is_sealed
from tests.e2e.conftest import Stack, eventually
from tests.integration.kafka_tools import read_all

PROBLEM = "application/problem+json"
TOPIC = "crm.sales.events"


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


async def register_lead(stack: Stack, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Grace", "last_name": "Hopper", **fields}
    response = await sales(stack).post("/v1/leads", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def published(
    stack: Stack, lead_id: str, versions: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """The lead's records on the sales topic, once ``versions`` of them are there."""

    async def probe() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", TOPIC)
        own = [r for r in records if r.key == lead_id.encode()]
        return own if len(own) >= versions else None

    return await eventually(probe)


async def test_registering_a_lead_answers_201_scored_with_location_and_etag(stack: Stack) -> None:
    response = await sales(stack).post(
        "/v1/leads",
        json={
            "first_name": "Grace",
            "email": "grace@EXAMPLE.com",
            "phone": "+1 415 555 0123",
            "job_title": "VP Engineering",
            "company_name": "Acme",
            "company_size": 250,
            "country": "US",
            "utm_source": "newsletter",
        },
        headers=stack.auth(sub="alice"),
    )
    assert response.status_code == 201, response.text
    lead = response.json()
    assert response.headers["location"] == f"/v1/leads/{lead['id']}"
    # Registered, then scored: two events.
    assert response.headers["etag"] == '"2"'
    assert (lead["status"], lead["owner"], lead["department"]) == ("new", "alice", "sales")
    assert (lead["email"], lead["phone"]) == ("grace@example.com", "+14155550123")
    assert lead["score"] == 35
    assert [reason["rule"] for reason in lead["score_reasons"]] == [
        "decision maker",
        "mid-size company",
    ]
    fetched = await sales(stack).get(response.headers["location"], headers=stack.auth())
    assert fetched.status_code == 200
    assert fetched.json() == lead
    assert fetched.headers["etag"] == '"2"'


async def test_a_change_with_the_current_if_match_is_200_and_then_a_stale_one_412(
    stack: Stack,
) -> None:
    lead = await register_lead(stack)
    url = f"/v1/leads/{lead['id']}"
    changed = await sales(stack).patch(
        url, json={"job_title": "CTO"}, headers={**stack.auth(), "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["job_title"], changed.json()["score"]) == ("CTO", 20)
    assert changed.headers["etag"] == '"3"'  # changed, then rescored
    stale = await sales(stack).patch(
        url, json={"job_title": "CEO"}, headers={**stack.auth(), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert stale.json()["code"] == "precondition_failed"
    current = await sales(stack).get(url, headers=stack.auth())
    assert (current.json()["job_title"], current.json()["version"]) == ("CTO", 3)


async def test_a_retried_registration_with_the_same_idempotency_key_answers_the_first_lead(
    stack: Stack,
) -> None:
    keyed = {**stack.auth(), "Idempotency-Key": str(uuid.uuid4())}
    body = {"first_name": "Grace", "job_title": "CTO"}
    first = await sales(stack).post("/v1/leads", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    retried = await sales(stack).post("/v1/leads", json=body, headers=keyed)
    assert (retried.status_code, retried.headers["idempotent-replayed"]) == (201, "true")
    assert retried.json() == first.json()


async def test_a_lead_is_qualified_then_disqualified_with_its_reason(stack: Stack) -> None:
    lead = await register_lead(stack)
    url = f"/v1/leads/{lead['id']}"
    qualified = await sales(stack).post(f"{url}/qualify", headers=stack.auth())
    assert qualified.status_code == 200, qualified.text
    assert qualified.json()["status"] == "qualified"
    disqualified = await sales(stack).post(
        f"{url}/disqualify", json={"reason": "no budget this year"}, headers=stack.auth()
    )
    assert disqualified.status_code == 200, disqualified.text
    assert (disqualified.json()["status"], disqualified.json()["disqualification_reason"]) == (
        "disqualified",
        "no budget this year",
    )
    history = await sales(stack).get(f"{url}/history", headers=stack.auth())
    assert [entry["type"] for entry in history.json()["items"]] == [
        "crm.sales.lead.registered.v1",
        "crm.sales.lead.qualified.v1",
        "crm.sales.lead.disqualified.v1",
    ]


async def test_disqualifying_without_a_reason_is_422_naming_the_field(stack: Stack) -> None:
    lead = await register_lead(stack)
    url = f"/v1/leads/{lead['id']}/disqualify"
    for body in ({}, {"reason": "   "}):
        response = await sales(stack).post(url, json=body, headers=stack.auth())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert "body.reason" in [error["field"] for error in response.json()["errors"]]
    current = await sales(stack).get(f"/v1/leads/{lead['id']}", headers=stack.auth())
    assert (current.json()["status"], current.json()["version"]) == ("new", 1)


async def test_a_lead_of_another_department_is_404_on_every_route(stack: Stack) -> None:
    lead = await register_lead(stack)
    url = f"/v1/leads/{lead['id']}"
    support = stack.auth(Role.MANAGER, department="support", sub="sam")
    calls = [
        sales(stack).get(url, headers=support),
        sales(stack).get(f"{url}/history", headers=support),
        sales(stack).patch(url, json={"job_title": "CTO"}, headers=support),
        sales(stack).post(f"{url}/qualify", headers=support),
        sales(stack).post(f"{url}/disqualify", json={"reason": "spam"}, headers=support),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


async def test_putting_a_qualified_lead_back_to_work_is_a_409_problem(stack: Stack) -> None:
    lead = await register_lead(stack)
    url = f"/v1/leads/{lead['id']}"
    assert (await sales(stack).post(f"{url}/qualify", headers=stack.auth())).status_code == 200
    refused = await sales(stack).post(f"{url}/work", headers=stack.auth())
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "lead_status"


async def test_a_role_outside_sales_may_not_call_the_service(stack: Stack) -> None:
    response = await sales(stack).post(
        "/v1/leads", json={"first_name": "Grace"}, headers=stack.auth(Role.MARKETER)
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


async def test_the_registration_is_a_cloudevent_on_the_sales_topic_with_the_person_sealed(
    stack: Stack,
) -> None:
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    lead = await register_lead(stack, email=email, job_title="VP Engineering")
    registration, scoring = await published(stack, lead["id"], versions=2)
    assert registration.topic == TOPIC
    event = from_binary_event(
        KafkaMessage(
            headers=dict(registration.headers), key=registration.key, value=registration.value
        )
    )
    assert event.get_type() == "crm.sales.lead.registered.v1"
    assert event.get_source() == "/crm/sales"
    assert event.get_subject() == lead["id"]
    assert event.get_extension("sequence") == "1"
    data = event.get_data()
    assert isinstance(data, dict)
    for personal in ("first_name", "last_name", "email"):
        assert is_sealed(data[personal]), personal
    assert (data["job_title"], data["department"]) == ("VP Engineering", "sales")
    assert email.encode() not in registration.value
    assert b"Hopper" not in registration.value
    score = orjson.loads(scoring.value)
    assert dict(scoring.headers)["ce_type"] == b"crm.sales.lead.score_changed.v1"
    assert score["score"] == 20
