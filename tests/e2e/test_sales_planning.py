"""Exchange rates, quotas, products and price books of the sales service as a client uses
them, over the real PostgreSQL and the real broker: rates as known at an instant, a
correction, quotas, a catalogue, refusals naming the field, and the CloudEvents on
``crm.sales.events``. Each test puts its own currency's rates (one stream per currency)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_sales.domain.currency_rates import currency_rates_id
from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, eventually
from tests.integration.kafka_tools import read_all

PROBLEM = "application/problem+json"
TOPIC = "crm.sales.events"


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


async def put_rate(stack: Stack, path: str, rate: Any, role: Role = Role.MANAGER) -> httpx.Response:
    return await sales(stack).put(
        f"/v1/exchange-rates/{path}", json={"rate": rate}, headers=stack.auth(role)
    )


async def published(stack: Stack, key: str, versions: int) -> list[ConsumerRecord[bytes, bytes]]:
    async def probe() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", TOPIC)
        own = [r for r in records if r.key == key.encode()]
        return own if len(own) >= versions else None

    return await eventually(probe)


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    errors: list[dict[str, Any]] = response.json()["errors"]
    return str(errors[0]["field"])


async def test_a_rate_is_absent_as_known_before_it_was_put_and_in_force_after(
    stack: Stack,
) -> None:
    before = datetime.now(UTC).isoformat()
    # A JSON number with more digits than a float holds (sent as written): read exactly.
    put = await sales(stack).put(
        "/v1/exchange-rates/EUR/2026-12-01",
        content=b'{"rate": 1.08420000000000000001}',
        headers={**stack.auth(Role.MANAGER), "Content-Type": "application/json"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["rates"][0]["rate"] == "1.08420000000000000001"
    on = sales(stack).get
    earlier = await on(
        "/v1/exchange-rates/EUR/2026-12-24",
        params={"as_known_at": before},
        headers=stack.auth(Role.SALES_REP),
    )
    assert earlier.status_code == 404
    assert earlier.json()["code"] == "no_exchange_rate"
    now = await on("/v1/exchange-rates/EUR/2026-12-24", headers=stack.auth(Role.SALES_REP))
    assert now.status_code == 200, now.text
    assert (now.json()["rate"], now.json()["corporate_currency"]) == (
        "1.08420000000000000001",
        "USD",
    )


async def test_a_correction_is_a_new_event_and_the_same_rate_is_none(stack: Stack) -> None:
    first = await put_rate(stack, "GBP/2026-12-01", "1.2650")
    again = await put_rate(stack, "GBP/2026-12-01", "1.265")
    corrected = await put_rate(stack, "GBP/2026-12-01", "1.2710")
    assert [r.headers["etag"] for r in (first, again, corrected)] == ['"1"', '"1"', '"2"']
    listed = await sales(stack).get("/v1/exchange-rates/GBP", headers=stack.auth(Role.SALES_REP))
    rates = listed.json()["rates"]
    assert [(r["rate"], r["corrected_at"] is None) for r in rates] == [
        ("1.2650", False),
        ("1.2710", True),
    ]
    in_force = await sales(stack).get("/v1/exchange-rates/GBP/2026-12-02", headers=stack.auth())
    assert in_force.json()["rate"] == "1.2710"


async def test_a_rep_putting_a_rate_is_forbidden(stack: Stack) -> None:
    response = await put_rate(stack, "CHF/2026-12-01", "1.13", role=Role.SALES_REP)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


async def test_bad_rates_are_refused_naming_the_field(stack: Stack) -> None:
    assert field_of(await put_rate(stack, "CAD/2026-12-01", 0)) == "body.rate"
    assert field_of(await put_rate(stack, "CAD/2026-12-01", "lots")) == "body.rate"
    assert field_of(await put_rate(stack, "USD/2026-12-01", "1")) == "body.currency"
    assert field_of(await put_rate(stack, "XYZ/2026-12-01", "1")) == "body.currency"


async def test_the_rate_is_a_cloudevent_on_the_sales_topic(stack: Stack) -> None:
    put = await put_rate(stack, "SEK/2026-12-01", "0.0952")
    assert put.status_code == 200, put.text
    (record,) = await published(stack, str(currency_rates_id("SEK")), versions=1)
    event = from_binary_event(
        KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )
    assert event.get_type() == "crm.sales.exchange_rate.recorded.v1"
    assert event.get_data() == {
        "currency": "SEK",
        "effective": "2026-12-01",
        "rate": "0.0952",
        "corporate_currency": "USD",
    }


async def test_a_manager_sets_quotas_and_a_rep_reads_them(stack: Stack) -> None:
    owner = f"alice-{uuid.uuid4().hex[:6]}"
    path = f"/v1/quotas/2026-Q4/owners/{owner}"
    put = await sales(stack).put(
        path, json={"amount": "150000.10", "currency": "USD"}, headers=stack.auth(Role.MANAGER)
    )
    assert put.status_code == 200, put.text
    team = await sales(stack).put(
        "/v1/quotas/2026/teams/enterprise",
        json={"amount": "2000000", "currency": "EUR"},
        headers=stack.auth(Role.ADMIN),
    )
    assert team.status_code == 200, team.text
    read = await sales(stack).get(path, headers=stack.auth(Role.SALES_REP))
    assert read.status_code == 200
    assert (read.json()["amount"], read.json()["department"]) == ("150000.10", "sales")
    elsewhere = await sales(stack).get(path, headers=stack.auth(Role.SALES_REP, "support"))
    assert elsewhere.status_code == 404
    by_rep = await sales(stack).put(
        path, json={"amount": "1", "currency": "USD"}, headers=stack.auth(Role.SALES_REP)
    )
    assert by_rep.status_code == 403


async def test_bad_quotas_are_refused_naming_the_field(stack: Stack) -> None:
    put = sales(stack).put
    auth = stack.auth(Role.MANAGER)
    good = {"amount": "1000", "currency": "USD"}
    assert field_of(await put("/v1/quotas/2026-Q5/teams/t", json=good, headers=auth)) == (
        "body.period"
    )
    bad_amount = {"amount": "10.001", "currency": "USD"}
    assert field_of(await put("/v1/quotas/2026/teams/t", json=bad_amount, headers=auth)) == (
        "body.amount"
    )
    bad_currency = {"amount": "10", "currency": "usd"}
    assert field_of(await put("/v1/quotas/2026/teams/t", json=bad_currency, headers=auth)) == (
        "body.currency"
    )


async def test_products_and_a_price_book(stack: Stack) -> None:
    code = f"SEAT-{uuid.uuid4().hex[:8]}"
    manager = stack.auth(Role.MANAGER)
    created = await sales(stack).post(
        "/v1/products", json={"code": code, "name": "CRM seat", "family": "seats"}, headers=manager
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert created.headers["location"] == f"/v1/products/{product['id']}"
    taken = await sales(stack).post(
        "/v1/products", json={"code": code.lower(), "name": "Copy"}, headers=manager
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "product_code_taken")
    by_rep = await sales(stack).post(
        "/v1/products",
        json={"code": f"{code}-R", "name": "Mine"},
        headers=stack.auth(Role.SALES_REP),
    )
    assert by_rep.status_code == 403
    changed = await sales(stack).patch(
        f"/v1/products/{product['id']}",
        json={"active": False},
        headers={**manager, "If-Match": created.headers["etag"]},
    )
    assert (changed.status_code, changed.json()["active"]) == (200, False)

    book = await sales(stack).post(
        "/v1/price-books",
        json={
            "name": "Standard (USD)",
            "currency": "USD",
            "standard": True,
            "entries": [{"product_id": product["id"], "unit_price": "480.00"}],
        },
        headers=manager,
    )
    assert book.status_code == 201, book.text
    standard = await sales(stack).get(
        "/v1/price-books/standard", headers=stack.auth(Role.SALES_REP)
    )
    assert standard.status_code == 200, standard.text
    assert standard.json()["entries"] == [
        {"product_id": product["id"], "unit_price": "480.00", "currency": "USD"}
    ]
    history = await sales(stack).get(f"/v1/products/{product['id']}/history", headers=manager)
    assert [entry["version"] for entry in history.json()["items"]] == [1, 2]


async def test_a_price_book_entry_with_a_negative_price_names_the_field(stack: Stack) -> None:
    response = await sales(stack).post(
        "/v1/price-books",
        json={
            "name": "Broken",
            "currency": "USD",
            "entries": [{"product_id": str(uuid.uuid4()), "unit_price": "-1"}],
        },
        headers=stack.auth(Role.MANAGER),
    )
    assert field_of(response) == "body.entries.0.unit_price"


async def test_a_price_book_entry_priced_as_a_json_float_is_refused_naming_the_field(
    stack: Stack,
) -> None:
    """A JSON float is a binary fraction by the time it is read: 0.1 is not 0.1. A price
    is sent as a decimal string (or a whole number) and kept exactly."""
    response = await sales(stack).post(
        "/v1/price-books",
        json={
            "name": "Floats",
            "currency": "USD",
            "entries": [{"product_id": str(uuid.uuid4()), "unit_price": 19.99}],
        },
        headers=stack.auth(Role.MANAGER),
    )
    assert response.status_code == 422
    assert field_of(response) == "body.entries.0.unit_price"


async def test_a_product_cannot_be_changed_to_have_no_name(stack: Stack) -> None:
    manager = stack.auth(Role.MANAGER)
    created = await sales(stack).post(
        "/v1/products", json={"code": f"KIT-{uuid.uuid4().hex[:8]}", "name": "Kit"}, headers=manager
    )
    assert created.status_code == 201, created.text
    response = await sales(stack).patch(
        f"/v1/products/{created.json()['id']}", json={"name": None}, headers=manager
    )
    assert field_of(response) == "body.name"
