"""Everything the contacts API accepts reaches the customer 360: arbitrary valid commands
(tests/property/strategies.py) through the real write path (the contacts app over the
session's PostgreSQL) and the real 360 projection (over the session's Kafka broker), and
the 360 agrees with the contacts service, with no dead letter and no error."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.e2e.conftest import Stack, eventually
from tests.e2e.projectable import dead_letters_about, projected
from tests.property.strategies import ACCOUNT, SCENARIO, Command, Scenario

PROFILE = (
    "first_name",
    "last_name",
    "emails",
    "phones",
    "addresses",
    "birthday",
    "job_title",
    "source",
    "custom_fields",
)
ACCOUNT_SUMMARY = ("id", "name", "domain", "industry", "size", "archived")
# Where a failing read model says so.
WATCHED_LOGGERS = ("crm_shared.messaging", "crm_projections")


async def _send(
    stack: Stack, method: str, url: str, body: dict[str, Any] | None, account_id: str
) -> dict[str, Any]:
    content = json.dumps(body).replace(ACCOUNT, account_id).encode() if body is not None else None
    response = await stack.contacts.request(
        method,
        url,
        content=content,
        headers={**stack.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), (method, url, body, response.text)
    result: dict[str, Any] = response.json()
    return result


async def _run(stack: Stack, scenario: Scenario) -> tuple[str, str]:
    """Sends the scenario's commands; returns the contact's and the account's ids."""
    account = await _send(stack, "POST", "/v1/accounts", scenario.account, "")
    contact = await _send(stack, "POST", "/v1/contacts", scenario.contact, account["id"])
    ids = {"contact": contact["id"], "account": account["id"]}
    for interaction in scenario.interactions:
        await _apply(stack, Command("contact", "POST", "/interactions", interaction), ids)
    for command in scenario.commands:
        await _apply(stack, command, ids)
    return contact["id"], account["id"]


async def _apply(stack: Stack, command: Command, ids: dict[str, str]) -> None:
    url = f"/v1/{command.record}s/{ids[command.record]}{command.path}"
    await _send(stack, command.method, url, command.body, ids["account"])
    if command.path == "/archive":
        # An archived record refuses further changes: restore it so the next one applies.
        await _send(stack, "POST", url.replace("/archive", "/restore"), None, ids["account"])


def _instant(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment) if moment is not None else None


async def _agrees_with_the_contacts_service(stack: Stack, contact_id: str) -> None:
    view = (await stack.contacts.get(f"/v1/contacts/{contact_id}", headers=stack.auth())).json()
    history = (
        await stack.contacts.get(f"/v1/contacts/{contact_id}/history", headers=stack.auth())
    ).json()
    customer = await projected(stack, contact_id, view["version"])

    assert customer["version"] == view["version"]
    assert customer["profile"] == {field: view[field] for field in PROFILE}
    for field in ("tags", "owner", "department", "archived"):
        assert customer[field] == view[field], field
    assert customer["interactions"]["count"] == len(view["interactions"])
    assert len(customer["timeline"]) == len(history["items"])
    assert {
        channel: (consent["status"], consent["source"], _instant(consent["at"]))
        for channel, consent in customer["consents"].items()
    } == {
        channel: (consent["status"], consent["source"], _instant(consent["at"]))
        for channel, consent in view["consents"].items()
    }
    if view["interactions"]:
        latest = max(_instant(i["occurred_at"]) for i in view["interactions"])
        assert _instant(customer["interactions"]["last_at"]) == latest
    if view["account_id"] is not None:
        await _shows_the_account(stack, contact_id, view["account_id"])


async def _shows_the_account(stack: Stack, contact_id: str, account_id: str) -> None:
    account = (await stack.contacts.get(f"/v1/accounts/{account_id}", headers=stack.auth())).json()
    expected = {field: account[field] for field in ACCOUNT_SUMMARY} | {"visible": True}

    async def shown() -> bool:
        # The account's events travel on their own partition: it may show a moment later.
        response = await stack.projections.get(f"/v1/customers/{contact_id}", headers=stack.auth())
        return bool(response.json()["account"] == expected)

    await eventually(shown, within=20)


@pytest.mark.timeout(600)
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    # Each example is a second of real requests and projection: a failing one is reported
    # as drawn rather than shrunk for many minutes.
    phases=[Phase.explicit, Phase.generate],
    # The caplog fixture lives for the whole test: each example clears it first.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=SCENARIO)
async def test_every_accepted_change_reaches_the_360_without_a_dead_letter_or_an_error(
    stack: Stack, caplog: pytest.LogCaptureFixture, scenario: Scenario
) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        contact_id, account_id = await _run(stack, scenario)
        await _agrees_with_the_contacts_service(stack, contact_id)

    assert await dead_letters_about(stack, {contact_id, account_id}) == []
    errors = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.name.startswith(WATCHED_LOGGERS)
    ]
    assert errors == []
