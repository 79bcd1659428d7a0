"""Lead scoring over the real stack: rules put through the API score the leads registered
after; engagement told by marketing's events on the real broker (``crm.marketing.events``,
published as marketing will) and by a converted lead's contact's interactions raises the
lead's score with the reason, an event delivered twice counting once; and the rescoring
sweeper lowers a score whose engagement has aged (its clock set by the test, not waited
for).

The stack is shared by the e2e tests: every test here that puts rules puts back the ones
it found (``restored_rules``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from crm_sales.scoring.sweeper import RescoringSweeper
from crm_shared.auth.principal import Role
from crm_shared.catalog.marketing import FormSubmitted
from crm_shared.messaging.cloudevents import KafkaRecord, encode
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_sales_conversion import convert, qualified_lead
from tests.e2e.test_sales_reminders import app_of

PROBLEM = "application/problem+json"
MARKETING = "crm.marketing.events"
RULES = "/v1/scoring-rules"
# Long enough for a consumer on a busy machine; nothing here is timed.
WITHIN = 30.0


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def manager(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.MANAGER, sub="mia")


@pytest.fixture
async def restored_rules(stack: Stack) -> AsyncIterator[dict[str, Any]]:
    """The rules in force (with their ETag); put back as they were after the test."""
    found = await sales(stack).get(RULES, headers=stack.auth())
    assert found.status_code == 200, found.text
    yield {**found.json(), "etag": found.headers["ETag"]}
    current = await sales(stack).get(RULES, headers=stack.auth())
    put_back = await sales(stack).put(
        RULES,
        json={"rules": found.json()["rules"]},
        headers=manager(stack) | {"If-Match": current.headers["ETag"]},
    )
    assert put_back.status_code == 200, put_back.text


async def register_lead(stack: Stack, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Grace", "last_name": "Hopper", **fields}
    response = await sales(stack).post("/v1/leads", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def lead(stack: Stack, lead_id: str) -> dict[str, Any]:
    response = await sales(stack).get(f"/v1/leads/{lead_id}", headers=stack.auth())
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def reasons(view: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [reason for reason in view["score_reasons"] if reason["rule"] == rule]


def form_submitted(
    *,
    form_id: uuid.UUID,
    at: datetime,
    lead_id: str | None = None,
    event_id: uuid.UUID,
    version: int = 1,
) -> KafkaRecord:
    """A ``form.submitted`` as the marketing service will publish it: the ``version``-th
    event of the form (consumers skip a version of an aggregate they applied)."""
    data = FormSubmitted(form_id=form_id, lead_id=lead_id, occurred_at=at)
    state = orjson.dumps(
        {
            "id": str(event_id),
            "time": datetime.now(UTC).isoformat(),
            "actor": "marketing",
            "data": data.model_dump(mode="json"),
        }
    )
    return encode(
        source="/crm/marketing",
        type_name=FormSubmitted.type_name,
        aggregate_id=form_id,
        version=version,
        state=state,
    )


async def publish(stack: Stack, *records: KafkaRecord) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                MARKETING, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


# --- the rules ---------------------------------------------------------------------------


async def test_put_rules_score_the_leads_registered_after(
    stack: Stack, restored_rules: dict[str, Any]
) -> None:
    rules = [
        *restored_rules["rules"],
        {"type": "job_title", "name": "marine biologist", "points": 7, "words": ["Zebrafish"]},
    ]
    put = await sales(stack).put(
        RULES,
        json={"rules": rules},
        headers=manager(stack) | {"If-Match": restored_rules["etag"]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["version"] == restored_rules["version"] + 1
    registered = await register_lead(stack, job_title="Zebrafish keeper")
    assert registered["score"] == 7
    assert registered["score_reasons"] == [
        {"rule": "marine biologist", "points": "7", "when": None}
    ]


async def test_rules_put_on_a_stale_version_are_refused_with_412(
    stack: Stack, restored_rules: dict[str, Any]
) -> None:
    rules = {"rules": restored_rules["rules"][:1]}
    first = await sales(stack).put(
        RULES, json=rules, headers=manager(stack) | {"If-Match": restored_rules["etag"]}
    )
    assert first.status_code == 200, first.text
    stale = await sales(stack).put(
        RULES,
        json={"rules": restored_rules["rules"][:2]},
        headers=manager(stack) | {"If-Match": restored_rules["etag"]},
    )
    assert stale.status_code == 412, stale.text
    assert stale.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "form_submission", "half_life_days": 0}, "body.rules.1.half_life_days"),
        ({"kind": "form_submission"}, "body.rules.1.half_life_days"),
    ],
)
async def test_a_rule_that_makes_no_sense_is_refused_naming_the_field(
    stack: Stack, rule: dict[str, Any], field: str
) -> None:
    body = {
        "rules": [
            {"type": "source", "name": "referral", "points": 15, "sources": ["referral"]},
            {"type": "engagement", "name": "form", "points": 30, **rule},
        ]
    }
    refused = await sales(stack).put(RULES, json=body, headers=manager(stack))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert [error["field"] for error in refused.json()["errors"]] == [field]


async def test_a_rep_reads_the_rules_but_may_not_put_them(stack: Stack) -> None:
    rep = stack.auth(Role.SALES_REP, sub="rita")
    read = await sales(stack).get(RULES, headers=rep)
    assert read.status_code == 200, read.text
    put = await sales(stack).put(RULES, json={"rules": read.json()["rules"]}, headers=rep)
    assert put.status_code == 403, put.text


# --- engagement from other services' events --------------------------------------------


async def test_a_form_submitted_on_the_broker_raises_the_score_once_however_delivered(
    stack: Stack,
) -> None:
    registered = await register_lead(stack, job_title="CTO")
    form_id, at, event_id = uuid.uuid4(), datetime.now(UTC), uuid.uuid4()

    def submission(version: int, event: uuid.UUID, when: datetime) -> KafkaRecord:
        return form_submitted(
            form_id=form_id, at=when, lead_id=registered["id"], event_id=event, version=version
        )

    # The same record twice (the consumer knows the version), the same event again under
    # a later version (as a republish would: only the lead knows it counted it), then
    # another submission of the same form (the same partition, read after them): once that
    # one counts, the others have been read too.
    later = at + timedelta(seconds=1)
    await publish(
        stack,
        submission(1, event_id, at),
        submission(1, event_id, at),
        submission(2, event_id, at),
        submission(3, uuid.uuid4(), later),
    )

    async def both_counted() -> dict[str, Any] | None:
        view = await lead(stack, registered["id"])
        return view if len(reasons(view, "form submitted")) >= 2 else None

    view = await eventually(both_counted, within=WITHIN)
    forms = reasons(view, "form submitted")
    assert [datetime.fromisoformat(r["when"]) for r in forms] == [at, later]
    assert view["score"] == 20 + 60


async def test_an_interaction_with_a_converted_leads_contact_counts_on_the_lead(
    stack: Stack,
) -> None:
    tag = uuid.uuid4().hex[:10]
    qualified = await qualified_lead(
        stack, {"first_name": f"Ivy{tag}", "last_name": "Interact", "job_title": "Analyst"}
    )
    converted = await convert(stack, qualified["id"])
    assert converted.status_code == 200, converted.text
    contact_id = converted.json()["contact_id"]
    logged = await stack.contacts.post(
        f"/v1/contacts/{contact_id}/interactions",
        json={"channel": "phone", "direction": "inbound"},
        headers=stack.auth(),
    )
    assert logged.status_code == 201, logged.text

    async def engaged() -> dict[str, Any] | None:
        view = await lead(stack, qualified["id"])
        return view if reasons(view, "interaction") else None

    view = await eventually(engaged, within=WITHIN)
    (interaction,) = reasons(view, "interaction")
    assert interaction["when"] is not None
    assert view["score"] == 5


# --- decay ------------------------------------------------------------------------------


async def test_the_sweeper_lowers_a_score_whose_engagement_has_aged(stack: Stack) -> None:
    assert app_of(stack).state.rescoring_sweeper.running
    registered = await register_lead(stack, job_title="CTO")
    at = datetime.now(UTC)
    await publish(
        stack,
        form_submitted(
            form_id=uuid.uuid4(), at=at, lead_id=registered["id"], event_id=uuid.uuid4()
        ),
    )

    async def due() -> datetime | None:
        assert stack.settings.database_url
        async with await psycopg.AsyncConnection.connect(stack.settings.database_url) as conn:
            cursor = await conn.execute(
                "SELECT rescore_at FROM sales_engagement.rescoring WHERE lead_id = %s",
                [registered["id"]],
            )
            row = await cursor.fetchone()
        return row[0] if row else None

    assert await eventually(due, within=WITHIN) > at
    a_half_life_later = at + timedelta(days=14, seconds=1)
    sweeper = RescoringSweeper(
        stack.settings.database_url or "",
        app_of(stack).state.use_cases,
        clock=lambda: a_half_life_later,
    )
    async with await psycopg.AsyncConnection.connect(
        stack.settings.database_url or "", autocommit=True
    ) as conn:
        assert await sweeper.sweep(conn) >= 1
    view = await lead(stack, registered["id"])
    (form,) = reasons(view, "form submitted")
    assert Decimal(form["points"]) == Decimal("15.00")
    assert view["score"] == 20 + 15
