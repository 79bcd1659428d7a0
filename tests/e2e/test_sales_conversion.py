"""Converting a lead over the real stack (PostgreSQL, the broker, the contacts service
over real HTTP): lead -> convert -> contact in contacts and in the 360 -> the deal through
its stages -> won -> the 360's won revenue; a conversion retried (the same request, and a
new one) creates one contact; the contacts service down answers 503 and records nothing;
and erasing the contact a lead became erases the lead, everywhere: every column of every
table and every record on every topic is swept for the person's email and phone."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from crm_sales.conversion.contacts_client import credential_for
from crm_shared.auth.principal import Principal, Role
from crm_shared.messaging.offsets import end_offsets
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_erasure import tables_holding

PROBLEM = "application/problem+json"
STAGES = [
    {"name": "discovery", "probability": 10, "forecast_category": "pipeline"},
    {"name": "proposal", "probability": 50, "forecast_category": "best_case"},
    {"name": "negotiation", "probability": 80, "forecast_category": "commit"},
    {"name": "won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
    {"name": "lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
]


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def rep(stack: Stack, name: str = "rita") -> dict[str, str]:
    return stack.auth(Role.SALES_REP, sub=name)


def a_lead() -> dict[str, Any]:
    """A person no other test uses, so that a sweep for them finds only this one."""
    tag = uuid.uuid4().hex[:10]
    digits = str(uuid.uuid4().int)[:6]
    return {
        "first_name": f"Lena{tag}",
        "last_name": f"Convert{tag}",
        "email": f"lena.{tag}@example.com",
        "phone": f"+14158{digits}",
        "job_title": "VP Engineering",
        "company_name": f"Acme {tag}",
        "industry": "Manufacturing",
    }


async def qualified_lead(stack: Stack, person: dict[str, Any]) -> dict[str, Any]:
    headers = rep(stack) | {"Idempotency-Key": uuid.uuid4().hex}
    registered = await sales(stack).post("/v1/leads", json=person, headers=headers)
    assert registered.status_code == 201, registered.text
    lead_id = registered.json()["id"]
    qualified = await sales(stack).post(f"/v1/leads/{lead_id}/qualify", headers=rep(stack))
    assert qualified.status_code == 200, qualified.text
    lead: dict[str, Any] = qualified.json()
    return lead


async def a_pipeline(stack: Stack) -> str:
    return (await a_named_pipeline(stack))[0]


async def a_named_pipeline(stack: Stack) -> tuple[str, str]:
    """A pipeline no other test uses: its id and its name."""
    name = f"partners-{uuid.uuid4().hex[:8]}"
    response = await sales(stack).post(
        "/v1/pipelines",
        json={"name": name, "stages": STAGES},
        headers=stack.auth(Role.MANAGER, sub="mia"),
    )
    assert response.status_code == 201, response.text
    pipeline_id: str = response.json()["id"]
    return pipeline_id, name


async def convert(
    stack: Stack, lead_id: str, body: dict[str, Any] | None = None, by: str = "rita"
) -> httpx.Response:
    return await sales(stack).post(
        f"/v1/leads/{lead_id}/convert", json=body or {}, headers=rep(stack, by)
    )


async def customer(stack: Stack, contact_id: str) -> dict[str, Any] | None:
    response = await stack.projections.get(f"/v1/customers/{contact_id}", headers=stack.auth())
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


def contacts_registered(stack: Stack) -> int:
    assert stack.settings.database_url
    with psycopg.connect(stack.settings.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM contacts.contacts_events WHERE topic LIKE %s",
            ["%contact.registered%"],
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_converted_lead_becomes_a_customer_whose_won_deal_the_360_and_forecast_show(
    stack: Stack,
) -> None:
    person = a_lead()
    lead = await qualified_lead(stack, person)
    pipeline_id, pipeline = await a_named_pipeline(stack)
    deal = {
        "name": "Acme: 50 seats",
        "pipeline_id": pipeline_id,
        "amount": "24000.00",
        "currency": "EUR",
        "close_date": "2026-12-15",
    }
    response = await convert(stack, lead["id"], {"create_account": True, "opportunity": deal})
    assert response.status_code == 200, response.text
    converted = response.json()
    assert converted["status"] == "converted"
    contact_id, account_id = converted["contact_id"], converted["account_id"]
    opportunity_id = converted["opportunity_id"]

    contact = await stack.contacts.get(f"/v1/contacts/{contact_id}", headers=stack.auth())
    assert contact.status_code == 200
    assert contact.json()["emails"][0]["address"] == person["email"]
    assert (contact.json()["account_id"], contact.json()["owner"]) == (account_id, "rita")
    account = await stack.contacts.get(f"/v1/accounts/{account_id}", headers=stack.auth())
    assert account.json()["name"] == person["company_name"]
    opportunity = await sales(stack).get(f"/v1/opportunities/{opportunity_id}", headers=rep(stack))
    assert (opportunity.json()["lead_id"], opportunity.json()["primary_contact_id"]) == (
        lead["id"],
        contact_id,
    )

    async def with_open_deal() -> dict[str, Any] | None:
        # The lead's and the deal's events are on different partitions: either comes first.
        doc = await customer(stack, contact_id)
        found = doc and doc["sales"]["open_opportunities"] and doc["sales"]["leads"]
        return doc if found else None

    doc = await eventually(with_open_deal)
    assert [link["id"] for link in doc["sales"]["leads"]] == [lead["id"]]
    (open_deal,) = doc["sales"]["open_opportunities"]
    assert (open_deal["id"], open_deal["stage"], open_deal["currency"]) == (
        opportunity_id,
        "discovery",
        "EUR",
    )
    assert doc["sales"]["won_revenue"] == []

    url = f"/v1/opportunities/{opportunity_id}"
    for stage in ("proposal", "negotiation"):
        moved = await sales(stack).post(f"{url}/stage", json={"stage": stage}, headers=rep(stack))
        assert moved.status_code == 200, moved.text
    won = await sales(stack).post(
        f"{url}/win", json={"closed_on": "2026-12-11"}, headers=rep(stack)
    )
    assert won.status_code == 200, won.text

    async def with_revenue() -> dict[str, Any] | None:
        doc = await customer(stack, contact_id)
        return doc if doc and doc["sales"]["won_revenue"] else None

    doc = await eventually(with_revenue)
    assert doc["sales"]["open_opportunities"] == []
    assert [(r["currency"], float(r["amount"])) for r in doc["sales"]["won_revenue"]] == [
        ("EUR", 24000.0)
    ]

    # The pipeline forecast of the quarter counts the won deal as closed in its pipeline.
    async def in_forecast() -> dict[str, Any] | None:
        answer = await stack.projections.get(
            "/v1/forecast",
            params={"period": "2026-Q4", "group_by": "pipeline", "currency": "EUR"},
            headers=stack.auth(),
        )
        assert answer.status_code == 200, answer.text
        lines = [line for line in answer.json()["lines"] if line["group"] == pipeline]
        return lines[0] if lines and lines[0]["won_count"] == 1 else None

    line = await eventually(in_forecast)
    assert (line["closed"], line["open_count"], line["lost_count"]) == ("24000.00", 0, 0)


async def test_a_conversion_retried_by_the_same_request_or_a_new_one_creates_one_contact(
    stack: Stack,
) -> None:
    lead = await qualified_lead(stack, a_lead())
    before = contacts_registered(stack)
    first = await convert(stack, lead["id"])
    assert first.status_code == 200, first.text
    same = await convert(stack, lead["id"])
    anew = await sales(stack).post(
        f"/v1/leads/{lead['id']}/convert",
        json={"create_account": True},
        headers=rep(stack) | {"Idempotency-Key": uuid.uuid4().hex},
    )
    links = ("contact_id", "account_id", "opportunity_id")
    for again in (same, anew):
        assert again.status_code == 200, again.text
        assert {k: again.json()[k] for k in links} == {k: first.json()[k] for k in links}
    assert contacts_registered(stack) == before + 1


async def test_a_disqualified_lead_is_not_converted(stack: Stack) -> None:
    lead = await qualified_lead(stack, a_lead())
    await sales(stack).post(
        f"/v1/leads/{lead['id']}/disqualify", json={"reason": "no budget"}, headers=rep(stack)
    )
    before = contacts_registered(stack)
    response = await convert(stack, lead["id"])
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM and response.json()["code"] == "lead_status"
    assert contacts_registered(stack) == before


async def test_the_contacts_service_down_answers_503_records_nothing_and_a_retry_succeeds(
    stack: Stack,
) -> None:
    lead = await qualified_lead(stack, a_lead())
    before = contacts_registered(stack)
    app = sales(stack)._transport.app  # type: ignore[attr-defined]
    settings = app.state.settings
    nowhere = {**settings.service_urls, "contacts": "http://127.0.0.1:9"}  # the discard port
    app.state.settings = settings.model_copy(update={"service_urls": nowhere})
    try:
        down = await convert(stack, lead["id"])
    finally:
        app.state.settings = settings
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == PROBLEM
    assert down.json()["code"] == "contacts_unavailable"
    unchanged = await sales(stack).get(f"/v1/leads/{lead['id']}", headers=rep(stack))
    assert unchanged.json()["status"] == "qualified"
    assert contacts_registered(stack) == before

    # A retry carrying the If-Match the first attempt was sent with finishes it.
    retried = await sales(stack).post(
        f"/v1/leads/{lead['id']}/convert",
        json={},
        headers=rep(stack) | {"If-Match": f'"{lead["version"]}"'},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "converted"
    assert contacts_registered(stack) == before + 1


async def test_the_contacts_service_scopes_a_conversions_keys_to_sales_not_to_the_user(
    stack: Stack,
) -> None:
    """Two users' conversion credentials sending one key create one contact (a conversion
    half done by one user and finished by another); a user's own key is the user's."""
    contact = {"first_name": "Kim", "last_name": uuid.uuid4().hex, "department": "sales"}
    key = {"Idempotency-Key": f"lead-conversion:{uuid.uuid4()}:contacts"}
    before = contacts_registered(stack)
    created = []
    for user, role in (("rita", Role.SALES_REP), ("mia", Role.MANAGER)):
        credential = credential_for(stack.settings, Principal(user, role, ("sales",)), "sales")
        response = await stack.contacts.post(
            "/v1/contacts", json=contact | {"owner": "rita"}, headers=credential | key
        )
        assert response.status_code in (200, 201), response.text
        created.append(response.json()["id"])
    assert created[0] == created[1]
    assert contacts_registered(stack) == before + 1

    own = await stack.contacts.post(
        "/v1/contacts",
        json=contact | {"owner": "rita"},
        headers=rep(stack, "rita") | key,
    )
    assert own.status_code == 201 and own.json()["id"] != created[0]


# --- one data subject ----------------------------------------------------------------


async def every_record_on_every_topic(bootstrap: str) -> bytes:
    """Every record's key, value and headers on every topic of the broker."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = await consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.partitions_for_topic(topic) or []
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = {tp: end for tp, end in (await end_offsets(bootstrap, partitions)).items() if end}
        raw: list[bytes] = []
        read = dict.fromkeys(ends, 0)
        while any(read[tp] < end for tp, end in ends.items()):
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for r in records:
                    raw.append((r.key or b"") + (r.value or b""))
                    raw.extend(v for _, v in r.headers)
                    if tp in read:
                        read[tp] = r.offset + 1
        return b"\n".join(raw)
    finally:
        await consumer.stop()


async def test_erasing_the_contact_a_lead_became_erases_the_lead_everywhere(
    stack: Stack,
) -> None:
    assert stack.settings.database_url and stack.settings.kafka_bootstrap_servers
    person = a_lead()
    lead = await qualified_lead(stack, person)
    converted = await convert(stack, lead["id"])
    assert converted.status_code == 200, converted.text
    contact_id = converted.json()["contact_id"]
    await eventually(lambda: customer(stack, contact_id))
    clear = [person["email"], person["phone"], person["phone"].lstrip("+"), person["last_name"]]
    assert tables_holding(stack.settings.database_url, person["email"]), "the sweep finds it"

    erased = await stack.contacts.post(f"/v1/contacts/{contact_id}/erase", headers=stack.auth())
    assert erased.status_code == 200, erased.text

    async def lead_erased() -> dict[str, Any] | None:
        response = await sales(stack).get(f"/v1/leads/{lead['id']}", headers=stack.auth())
        return response.json() if response.json().get("erased") else None  # type: ignore[no-any-return]

    view = await eventually(lead_erased, within=20.0)
    assert (view["first_name"], view["last_name"], view["email"], view["phone"]) == (
        None,
        None,
        None,
        None,
    )
    history = await sales(stack).get(f"/v1/leads/{lead['id']}/history", headers=stack.auth())
    assert history.status_code == 200
    for text in clear:
        assert text not in history.text, text

    async def the_360_erased() -> dict[str, Any] | None:
        doc = await customer(stack, contact_id)
        return doc if doc and doc["erased"] else None

    await eventually(the_360_erased)
    for text in clear:
        assert tables_holding(stack.settings.database_url, text) == [], text
    raw = await every_record_on_every_topic(stack.settings.kafka_bootstrap_servers)
    for text in clear:
        assert text.encode() not in raw, text
