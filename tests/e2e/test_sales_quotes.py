"""Quotes over the real PostgreSQL and the real broker, as a client uses them: a rep
opens a deal with line items, drafts its quote, reads the PDF back, sends it and the
customer accepts it (final: a change is 409); a stale If-Match is 412; a retried draft keeps
its number; refusals name their field; another department's quote is 404 everywhere; the
quote's CloudEvents on ``crm.sales.events``, the customer sealed with the contact's key."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from typing import Any

import httpx
import pypdf
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_shared.auth.principal import Role
from crm_shared.catalog.sales.quotes import QuoteDrafted
from crm_shared.privacy.cipher import is_sealed, sealed_data_subjects
from tests.e2e.conftest import Stack, eventually
from tests.e2e.sales_references import a_contact_sales_knows
from tests.integration.kafka_tools import read_all

PROBLEM = "application/problem+json"
TOPIC = "crm.sales.events"
STAGES = [
    {"name": "discovery", "probability": 10, "forecast_category": "pipeline"},
    {"name": "proposal", "probability": 50, "forecast_category": "best_case"},
    {"name": "won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
    {"name": "lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
]
# 50 seats at 480.00 less 10 % and a training day at 1,200.00, 19 % tax on both:
# 21,600.00 + 1,200.00 net, 4,104.00 + 228.00 tax.
LINES = [
    {"name": "CRM seats (annual)", "quantity": "50", "unit_price": "480.00",
     "discount_percent": "10"},
    {"name": "Training day", "quantity": "1", "unit_price": "1200.00"},
]  # fmt: skip
TOTALS = {"subtotal": "25200.00", "discount": "2400.00", "tax": "4332.00", "total": "27132.00"}


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def rep(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.SALES_REP, sub="rita")


async def a_deal(stack: Stack, **fields: Any) -> dict[str, Any]:
    """Rita's deal with Acme, in a pipeline her manager defined."""
    defined = await sales(stack).post(
        "/v1/pipelines",
        json={"name": f"quotes-{uuid.uuid4().hex[:8]}", "stages": STAGES},
        headers=stack.auth(Role.MANAGER, sub="mia"),
    )
    assert defined.status_code == 201, defined.text
    opened = await sales(stack).post(
        "/v1/opportunities",
        json={
            "name": "Acme: 50 seats",
            "pipeline_id": defined.json()["id"],
            "currency": "EUR",
            "close_date": "2027-03-31",
            "line_items": LINES,
            **fields,
        },
        headers=rep(stack),
    )
    assert opened.status_code == 201, opened.text
    deal: dict[str, Any] = opened.json()
    return deal


async def a_quote(stack: Stack, deal: dict[str, Any], **fields: Any) -> httpx.Response:
    body = {"opportunity_id": deal["id"], "customer": "Ångström AB", "tax_percent": "19"}
    return await sales(stack).post("/v1/quotes", json=body | fields, headers=rep(stack))


async def drafted(stack: Stack) -> dict[str, Any]:
    response = await a_quote(stack, await a_deal(stack))
    assert response.status_code == 201, response.text
    quote: dict[str, Any] = response.json()
    return quote


def pdf_text(document: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(document))
    return "\n".join(page.extract_text() for page in reader.pages)


async def published(
    stack: Stack, quote_id: str, versions: int
) -> list[ConsumerRecord[bytes, bytes]]:
    async def probe() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", TOPIC)
        own = [r for r in records if r.key == quote_id.encode()]
        return own if len(own) >= versions else None

    return await eventually(probe)


async def test_a_deal_is_quoted_printed_sent_and_accepted(stack: Stack) -> None:
    deal = await a_deal(stack)
    response = await a_quote(stack, deal)
    assert response.status_code == 201, response.text
    quote = response.json()
    url = f"/v1/quotes/{quote['id']}"
    assert response.headers["location"] == url
    assert re.fullmatch(r"Q-\d{4}-\d{6}", quote["number"])
    assert (quote["revision"], quote["status"], quote["currency"]) == (1, "draft", "EUR")
    assert quote["totals"] == TOTALS
    assert [line["total"] for line in quote["lines"]] == ["25704.00", "1428.00"]

    printed = await sales(stack).get(f"{url}.pdf", headers=rep(stack))
    assert printed.status_code == 200, printed.text
    assert printed.headers["content-type"] == "application/pdf"
    shown = pdf_text(printed.content)
    assert f"Quote {quote['number']}" in shown
    assert "CRM seats (annual)" in shown
    assert "27,132.00 EUR" in shown
    assert "Ångström AB" in shown

    sent = await sales(stack).post(f"{url}/send", headers=rep(stack))
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    accepted = await sales(stack).post(f"{url}/accept", headers=rep(stack))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"

    refused = await sales(stack).patch(url, json={"valid_until": "2099-01-01"}, headers=rep(stack))
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "quote_transition_refused"
    history = await sales(stack).get(f"{url}/history", headers=rep(stack))
    assert history.status_code == 200, history.text
    assert [entry["version"] for entry in history.json()["items"]] == [1, 2, 3]


async def test_a_sent_quote_changed_is_its_next_version_under_if_match(stack: Stack) -> None:
    quote = await drafted(stack)
    url = f"/v1/quotes/{quote['id']}"
    await sales(stack).post(f"{url}/send", headers=rep(stack))
    lines = [{"name": "Consulting", "quantity": "3", "unit_price": "1000.00"}]
    revised = await sales(stack).patch(
        url, json={"line_items": lines}, headers={**rep(stack), "If-Match": '"2"'}
    )
    assert revised.status_code == 200, revised.text
    assert (revised.json()["revision"], revised.json()["status"]) == (2, "draft")
    assert revised.json()["number"] == quote["number"]
    assert revised.json()["totals"]["total"] == "3000.00"  # no tax given: 0 %
    stale = await sales(stack).patch(
        url, json={"valid_until": "2099-01-01"}, headers={**rep(stack), "If-Match": '"2"'}
    )
    assert stale.status_code == 412, stale.text
    printed = await sales(stack).get(f"{url}.pdf", headers=rep(stack))
    assert "Version 2" in pdf_text(printed.content)


async def test_a_retried_draft_with_the_same_idempotency_key_keeps_its_number(
    stack: Stack,
) -> None:
    deal = await a_deal(stack)
    keyed = {**rep(stack), "Idempotency-Key": str(uuid.uuid4())}
    body = {"opportunity_id": deal["id"], "customer": "Acme GmbH"}
    first = await sales(stack).post("/v1/quotes", json=body, headers=keyed)
    again = await sales(stack).post("/v1/quotes", json=body, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.json()["id"], again.json()["number"]) == (
        first.json()["id"],
        first.json()["number"],
    )
    other = await a_quote(stack, deal)
    assert other.json()["number"] > first.json()["number"]


async def test_quotes_drafted_at_the_same_moment_take_distinct_consecutive_numbers(
    stack: Stack,
) -> None:
    deal = await a_deal(stack)
    responses = await asyncio.gather(*(a_quote(stack, deal) for _ in range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    sequences = sorted(int(r.json()["number"].rsplit("-", 1)[1]) for r in responses)
    assert sequences == list(range(sequences[0], sequences[0] + 8))


async def test_bad_input_is_422_naming_the_field(stack: Stack) -> None:
    deal = await a_deal(stack)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tax_percent": "150"}, "body.tax_percent"),
        ({"tax_percent": 19.5}, "body.tax_percent"),
        ({"valid_until": "2000-01-01"}, "body.valid_until"),
        ({"line_items": [{"name": "Seats", "quantity": "0", "unit_price": "1"}]},
         "body.line_items.0.quantity"),
        ({"opportunity_id": str(uuid.uuid4())}, "body.opportunity_id"),
    ]  # fmt: skip
    for fields, field in cases:
        response = await a_quote(stack, deal, **fields)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert field in [error["field"] for error in response.json()["errors"]], response.text
    bare = await a_deal(stack, line_items=None, amount="1000.00")
    nothing = await a_quote(stack, bare)
    assert nothing.status_code == 422, nothing.text
    assert [error["field"] for error in nothing.json()["errors"]] == ["body.line_items"]


async def test_a_quote_of_another_department_is_404_on_every_route(stack: Stack) -> None:
    quote = await drafted(stack)
    url = f"/v1/quotes/{quote['id']}"
    support = stack.auth(Role.MANAGER, department="support", sub="sam")
    calls = [
        sales(stack).get(url, headers=support),
        sales(stack).get(f"{url}.pdf", headers=support),
        sales(stack).get(f"{url}/history", headers=support),
        sales(stack).patch(url, json={"valid_until": "2099-01-01"}, headers=support),
        sales(stack).post(f"{url}/send", headers=support),
        sales(stack).post(f"{url}/accept", headers=support),
        sales(stack).post(f"{url}/reject", json={"reason": "no"}, headers=support),
    ]
    for request in calls:
        response = await request
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


async def test_the_quotes_cloudevents_with_the_customer_sealed_with_the_contacts_key(
    stack: Stack,
) -> None:
    contact_id = (await a_contact_sales_knows(stack))["id"]
    response = await a_quote(stack, await a_deal(stack, primary_contact_id=contact_id))
    quote = response.json()
    url = f"/v1/quotes/{quote['id']}"
    await sales(stack).post(f"{url}/send", headers=rep(stack))
    rejected = await sales(stack).post(
        f"{url}/reject", json={"reason": "price too high"}, headers=rep(stack)
    )
    assert rejected.status_code == 200, rejected.text
    records = await published(stack, quote["id"], versions=3)
    types = [dict(r.headers)["ce_type"] for r in records]
    assert types == [
        b"crm.sales.quote.drafted.v1",
        b"crm.sales.quote.sent.v1",
        b"crm.sales.quote.rejected.v1",
    ]
    first = records[0]
    event = from_binary_event(
        KafkaMessage(headers=dict(first.headers), key=first.key, value=first.value)
    )
    assert (event.get_source(), event.get_subject()) == ("/crm/sales", quote["id"])
    data = event.get_data()
    assert isinstance(data, dict)
    assert is_sealed(data["customer"])
    assert sealed_data_subjects(data, QuoteDrafted.personal_fields()) == {
        ("sales", uuid.UUID(contact_id))
    }
    assert "Ångström".encode() not in first.value
    assert (data["number"], data["totals"], data["opportunity_id"]) == (
        quote["number"],
        TOTALS,
        quote["opportunity_id"],
    )
