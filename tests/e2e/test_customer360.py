"""The customer 360 as a client sees it: written in contacts, readable in seconds."""

from __future__ import annotations

import uuid
from typing import Any

from crm_shared.catalog.contacts import (
    ContactConsentGranted,
    ContactInteractionLogged,
    ContactRegistered,
    ContactUpdated,
)
from tests.e2e.conftest import Stack, eventually, register_contact


async def customer(stack: Stack, contact_id: str, version: int = 1) -> dict[str, Any] | None:
    response = await stack.projections.get(f"/v1/customers/{contact_id}", headers=stack.auth())
    if response.status_code != 200 or response.json()["version"] < version:
        return None
    result: dict[str, Any] = response.json()
    return result


async def test_a_registered_contact_appears_in_the_360(stack: Stack) -> None:
    contact = await register_contact(
        stack,
        emails=[{"address": "ada.360@example.com"}],
        phones=[{"number": "+14155550199"}],
        tags=["vip"],
    )
    view = await eventually(lambda: customer(stack, contact["id"]))
    assert view["display_name"] == "Ada Lovelace"
    assert view["profile"]["emails"][0]["address"] == "ada.360@example.com"
    assert view["tags"] == ["vip"]
    assert view["timeline"][0]["type"] == "crm.contacts.contact.registered.v1"
    assert view["timeline"][0]["actor"] == "user:tester"


async def test_the_360_joins_the_account_and_every_kind_of_event_reaches_the_timeline(
    stack: Stack,
) -> None:
    """The wiring: each endpoint's event reaches the 360, newest first in its timeline. What
    each event does to the document is specified in tests/projections/specs."""
    account = (
        await stack.contacts.post("/v1/accounts", json={"name": "Globex 360"}, headers=stack.auth())
    ).json()
    contact = await register_contact(stack, account_id=account["id"])
    url = f"/v1/contacts/{contact['id']}"
    await stack.contacts.put(
        f"{url}/consents/email", json={"status": "granted", "source": "web"}, headers=stack.auth()
    )
    for channel in ("phone", "email"):
        await stack.contacts.post(
            f"{url}/interactions",
            json={
                "channel": channel,
                "direction": "inbound",
                "occurred_at": f"2026-01-0{1 if channel == 'phone' else 2}T10:00:00Z",
            },
            headers=stack.auth(),
        )
    await stack.contacts.patch(url, json={"job_title": "CTO"}, headers=stack.auth())
    view = await eventually(lambda: customer(stack, contact["id"], version=5))
    assert view["account"]["name"] == "Globex 360"
    assert view["consents"]["email"]["status"] == "granted"
    assert view["interactions"]["count"] == 2
    assert view["profile"]["job_title"] == "CTO"
    times = [entry["occurred_at"] for entry in view["timeline"]]
    assert times == sorted(times, reverse=True)
    assert sorted(entry["type"] for entry in view["timeline"]) == sorted(
        t.type_name
        for t in (
            ContactRegistered,
            ContactConsentGranted,
            ContactInteractionLogged,
            ContactInteractionLogged,
            ContactUpdated,
        )
    )


async def test_renaming_the_account_shows_in_the_360(stack: Stack) -> None:
    account = (
        await stack.contacts.post("/v1/accounts", json={"name": "Initech"}, headers=stack.auth())
    ).json()
    contact = await register_contact(stack, account_id=account["id"])
    await eventually(lambda: customer(stack, contact["id"]))
    await stack.contacts.patch(
        f"/v1/accounts/{account['id']}", json={"name": "Initrode"}, headers=stack.auth()
    )

    async def renamed() -> bool:
        view = await customer(stack, contact["id"])
        return bool(view and view["account"]["name"] == "Initrode")

    await eventually(renamed)


async def test_search_finds_by_name_email_phone_and_company(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:8]
    account = (
        await stack.contacts.post(
            "/v1/accounts", json={"name": f"Zorg {marker}"}, headers=stack.auth()
        )
    ).json()
    contact = await register_contact(
        stack,
        first_name=f"Ruby{marker}",
        emails=[{"address": f"ruby.{marker}@example.org"}],
        phones=[{"number": "+33 1 09 75 83 51"}],
        account_id=account["id"],
    )
    await eventually(lambda: customer(stack, contact["id"]))
    for q in (f"ruby{marker}", f"RUBY.{marker}@EXAMPLE", f"zorg {marker}", "33109758351"):
        response = await stack.projections.get(
            "/v1/customers", params={"q": q}, headers=stack.auth()
        )
        assert response.status_code == 200
        ids = [item["id"] for item in response.json()["items"]]
        assert contact["id"] in ids, q


async def test_search_filters_by_tag_owner_and_account_and_pages_with_a_cursor(
    stack: Stack,
) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    created = [await register_contact(stack, first_name=f"P{i}", tags=[tag]) for i in range(5)]
    await eventually(lambda: customer(stack, created[-1]["id"]))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": tag, "limit": 2, "sort": "name"}
        if cursor:
            params["cursor"] = cursor
        page = (
            await stack.projections.get("/v1/customers", params=params, headers=stack.auth())
        ).json()
        assert page["total"] == 5
        seen += [item["display_name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"P{i} Lovelace" for i in range(5)]
    by_owner = await stack.projections.get(
        "/v1/customers", params={"owner": "nobody-owns-this"}, headers=stack.auth()
    )
    assert by_owner.json()["items"] == []


async def test_archived_contacts_are_hidden_from_search_unless_asked_for(stack: Stack) -> None:
    tag = f"a{uuid.uuid4().hex[:8]}"
    contact = await register_contact(stack, tags=[tag])
    await stack.contacts.post(f"/v1/contacts/{contact['id']}/archive", headers=stack.auth())
    await eventually(lambda: customer(stack, contact["id"], version=2))
    hidden = await stack.projections.get("/v1/customers", params={"tag": tag}, headers=stack.auth())
    assert hidden.json()["items"] == []
    shown = await stack.projections.get(
        "/v1/customers", params={"tag": tag, "include_archived": True}, headers=stack.auth()
    )
    assert [i["id"] for i in shown.json()["items"]] == [contact["id"]]


async def test_the_timeline_pages_newest_first(stack: Stack) -> None:
    contact = await register_contact(stack)
    for i in range(4):
        await stack.contacts.post(
            f"/v1/contacts/{contact['id']}/interactions",
            json={
                "channel": "chat",
                "direction": "inbound",
                "occurred_at": f"2026-03-0{i + 1}T00:00:00Z",
            },
            headers=stack.auth(),
        )
    await eventually(lambda: customer(stack, contact["id"], version=5))
    url = f"/v1/customers/{contact['id']}/timeline"
    first = (await stack.projections.get(url, params={"limit": 3}, headers=stack.auth())).json()
    second = (
        await stack.projections.get(
            url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=stack.auth()
        )
    ).json()
    entries = first["items"] + second["items"]
    assert len(entries) == 5
    assert second["next_cursor"] is None
    assert [e["occurred_at"] for e in entries] == sorted(
        (e["occurred_at"] for e in entries), reverse=True
    )


async def test_bad_queries_are_422_and_unknown_customers_404(stack: Stack) -> None:
    auth = stack.auth()
    for params in (
        {"limit": 0},
        {"limit": 1000},
        {"sort": "shoe_size"},
        {"cursor": "!!!"},
        {"cursor": "WyJ4IiwieSJd"},
    ):
        response = await stack.projections.get("/v1/customers", params=params, headers=auth)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    missing = uuid.uuid4()
    assert (
        await stack.projections.get(f"/v1/customers/{missing}", headers=auth)
    ).status_code == 404
    assert (
        await stack.projections.get(f"/v1/customers/{missing}/timeline", headers=auth)
    ).status_code == 404
    assert (await stack.projections.get("/v1/customers", headers={})).status_code == 401


async def test_projection_readiness_and_lag_metrics(stack: Stack) -> None:
    ready = await stack.projections.get("/readyz")
    assert ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "customer360": "ok",
        "forecast": "ok",
    }
    metrics = (await stack.projections.get("/metrics")).text
    assert "crm_projection_lag_events" in metrics
    assert "crm_projection_lag_seconds" in metrics


async def test_a_rebuild_from_the_start_of_the_topic_gives_the_same_360(stack: Stack) -> None:
    from crm_projections.cli import consumer_settings, rebuild_projection

    contact = await register_contact(stack, tags=["rebuild"])
    await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}", json={"job_title": "Boss"}, headers=stack.auth()
    )
    before = await eventually(lambda: customer(stack, contact["id"], version=2))
    rebuilt = await rebuild_projection("customer360", consumer_settings(stack.settings))
    assert rebuilt.events > 0
    after = await eventually(lambda: customer(stack, contact["id"], version=2))
    assert after == before
