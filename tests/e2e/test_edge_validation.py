"""Every route of the contacts API refuses, with a 422 naming the field, what the read
side could not store, and records nothing. (Which values are refused, field by field:
tests/unit/test_edge_validation.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Stack, register_contact

PROBLEM = "application/problem+json"

# (method, path under the record, raw JSON body, the field the problem names)
REFUSALS = [
    ("POST", "/v1/contacts", r'{"first_name": "Ada\u0000"}', "body.first_name"),
    ("POST", "/v1/contacts", r'{"last_name": "Love\ud800lace"}', "body.last_name"),
    (
        "POST",
        "/v1/contacts",
        r'{"custom_fields": {"n": {"type": "number", "value": "1E+131072"}}}',
        "body.custom_fields.n.number.value",
    ),
    ("PATCH", "/v1/contacts/{contact}", r'{"tags": ["v\u0000ip"]}', "body.tags.0"),
    (
        "PATCH",
        "/v1/contacts/{contact}",
        r'{"addresses": [{"street": "\u0000"}]}',
        "body.addresses.0.street",
    ),
    ("POST", "/v1/accounts", r'{"name": "Globex\u0000"}', "body.name"),
    ("PATCH", "/v1/accounts/{account}", r'{"industry": "\u0000"}', "body.industry"),
    ("POST", "/v1/contacts/{contact}/archive", r'{"reason": "\u0000"}', "body.reason"),
    (
        "PUT",
        "/v1/contacts/{contact}/assignment",
        r'{"owner": "bob\u0000", "department": "sales"}',
        "body.owner",
    ),
    (
        "POST",
        "/v1/contacts/{contact}/interactions",
        r'{"channel": "phone", "direction": "inbound", "subject": "Hi\u0000"}',
        "body.subject",
    ),
    (
        "POST",
        "/v1/contacts/{contact}/interactions",
        r'{"channel": "phone", "direction": "inbound", "occurred_at": "2026-01-01T10:00:00+20:00"}',
        "body.occurred_at",
    ),
    (
        "POST",
        "/v1/accounts/{account}/interactions",
        r'{"channel": "phone", "direction": "inbound", "occurred_at": "0001-01-01T00:00:00+01:00"}',
        "body.occurred_at",
    ),
    (
        "PUT",
        "/v1/contacts/{contact}/consents/email",
        r'{"status": "granted", "at": "2026-01-01T10:00:00-16:00"}',
        "body.at",
    ),
    (
        "PUT",
        "/v1/contacts/{contact}/consents/sms",
        r'{"status": "granted", "source": "web\u0000"}',
        "body.source",
    ),
]


@pytest.fixture
async def records(stack: Stack) -> dict[str, str]:
    contact = await register_contact(stack)
    account = await stack.contacts.post(
        "/v1/accounts", json={"name": "Globex"}, headers=stack.auth()
    )
    return {"contact": contact["id"], "account": account.json()["id"]}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), REFUSALS, ids=[f"{r[0]} {r[1]} {r[3]}" for r in REFUSALS]
)
async def test_what_the_read_side_cannot_store_is_a_422_naming_the_field(
    stack: Stack, records: dict[str, str], method: str, path: str, body: str, field: str
) -> None:
    url = path.format(**records)
    response = await stack.contacts.request(
        method,
        url,
        content=body.encode(),
        headers={**stack.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["code"] == "validation_error"
    assert [error["field"] for error in problem["errors"]] == [field]
    for kind in ("contact", "account"):
        if records[kind] in url:
            current = await stack.contacts.get(f"/v1/{kind}s/{records[kind]}", headers=stack.auth())
            assert current.json()["version"] == 1  # nothing was recorded
