"""Hostile input at the edge of the real services: forged cursors, NUL in search terms,
duplicate JSON members, tokens whose claims have the wrong type or no end. Each is the
client's error, answered as such (problem+json naming what was wrong), never a 500."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from crm_shared.projections.paging import encode_cursor
from tests.e2e.conftest import Stack, eventually, register_contact
from tests.unit.test_cursor import MALFORMED

# An empty cursor is no cursor (the first page); every other malformed one is refused.
TAMPERED = {
    **{name: cursor for name, cursor in MALFORMED.items() if cursor},
    "a name where a time belongs": encode_cursor("Ada Lovelace", str(uuid.uuid4())),
    "a time out of range": encode_cursor("999999-01-01 00:00:00+00", str(uuid.uuid4())),
    "NUL in the parameter": "WyJh\x00",
    "a very long key": encode_cursor("9" * 300, str(uuid.uuid4())),
}


def assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["field"] for e in problem["errors"]] == [field]


@pytest.fixture(scope="module")
async def in_the_360(stack: Stack) -> str:
    contact = await register_contact(stack, first_name="Edge")

    async def visible() -> bool:
        url = f"/v1/customers/{contact['id']}"
        return (await stack.projections.get(url, headers=stack.auth())).status_code == 200

    await eventually(visible)
    return str(contact["id"])


@pytest.mark.parametrize("cursor", TAMPERED.values(), ids=TAMPERED.keys())
async def test_a_forged_search_cursor_is_a_422_naming_the_cursor(stack: Stack, cursor: str) -> None:
    response = await stack.projections.get(
        "/v1/customers", params={"cursor": cursor, "sort": "-updated_at"}, headers=stack.auth()
    )
    assert_invalid(response, "query.cursor")


@pytest.mark.parametrize("cursor", TAMPERED.values(), ids=TAMPERED.keys())
async def test_a_forged_timeline_cursor_is_a_422_naming_the_cursor(
    stack: Stack, in_the_360: str, cursor: str
) -> None:
    response = await stack.projections.get(
        f"/v1/customers/{in_the_360}/timeline", params={"cursor": cursor}, headers=stack.auth()
    )
    assert_invalid(response, "query.cursor")


@pytest.mark.parametrize("parameter", ["q", "tag", "owner"])
async def test_a_nul_in_a_search_term_is_a_422_naming_that_term(
    stack: Stack, parameter: str
) -> None:
    response = await stack.projections.get(
        "/v1/customers", params={parameter: "ad\x00a"}, headers=stack.auth()
    )
    assert_invalid(response, f"query.{parameter}")


async def test_a_nul_in_a_search_term_beside_a_cursor_is_blamed_on_the_term(
    stack: Stack,
) -> None:
    cursor = encode_cursor("2024-01-01 00:00:00+00", str(uuid.uuid4()))
    response = await stack.projections.get(
        "/v1/customers", params={"q": "a\x00", "cursor": cursor}, headers=stack.auth()
    )
    assert_invalid(response, "query.q")


# --- strict JSON -------------------------------------------------------------------------


def assert_malformed(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "malformed_json"


async def test_a_registration_naming_a_member_twice_is_a_400_and_writes_nothing(
    stack: Stack,
) -> None:
    key = f"dup-{uuid.uuid4()}"
    headers = {**stack.auth(), "Content-Type": "application/json", "Idempotency-Key": key}
    refused = await stack.contacts.post(
        "/v1/contacts", content=b'{"first_name": "Ada", "first_name": "Eve"}', headers=headers
    )
    assert_malformed(refused)
    # Nothing was recorded under the key: the same key now registers afresh.
    accepted = await stack.contacts.post(
        "/v1/contacts", content=b'{"first_name": "Ada"}', headers=headers
    )
    assert accepted.status_code == 201 and "idempotent-replayed" not in accepted.headers


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", b'{"job_title": "CTO", "job_title": "CEO"}'),
        ("PATCH", "", b'{"custom_fields": {"tier": "a", "tier": "b"}}'),
        ("PUT", "/assignment", b'{"owner": "a", "department": "sales", "owner": "b"}'),
        (
            "POST",
            "/interactions",
            b'{"channel": "phone", "direction": "inbound", "channel": "email"}',
        ),
        ("PUT", "/consents/email", b'{"status": "granted", "status": "withdrawn"}'),
    ],
)
async def test_every_route_refuses_a_body_naming_a_member_twice(
    stack: Stack, method: str, path: str, body: bytes
) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}{path}"
    headers = {**stack.auth(), "Content-Type": "application/json"}
    assert_malformed(await stack.contacts.request(method, url, content=body, headers=headers))
    unchanged = await stack.contacts.get(f"/v1/contacts/{contact['id']}", headers=stack.auth())
    assert unchanged.json()["version"] == 1


async def test_the_key_endpoint_refuses_a_body_naming_a_member_twice(stack: Stack) -> None:
    headers = {
        "Authorization": "Bearer "
        + jwt.encode(
            claims(sub="system", role="service_agent", permissions=["pii:read"]),
            stack.settings.jwt_secret,
            algorithm="HS256",
        ),
        "Content-Type": "application/json",
    }
    data_subject = str(uuid.uuid4())
    body = f'{{"data_subjects": ["{data_subject}"], "data_subjects": ["{data_subject}"]}}'.encode()
    assert_malformed(
        await stack.contacts.post("/v1/data-keys/lookup", content=body, headers=headers)
    )


# --- tokens ------------------------------------------------------------------------------


def claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    result: dict[str, object] = {
        "sub": "mallory",
        "role": "sales_rep",
        "department": "sales",
        "iss": "crm",
        "aud": "crm",
        "iat": now,
        "exp": now + 600,
    }
    result.update(changes)
    return result


BAD_CLAIMS = {
    "department a number": {"department": 7},
    "department an object": {"department": {"name": "sales"}},
    "department a list of lists": {"department": [["sales"]]},
    "department holding NUL": {"department": "sa\x00les"},
    "role a list": {"role": ["admin"]},
    "sub a number": {"sub": 1},
    "permissions a string": {"permissions": "pii:read"},
    "exp a string": {"exp": "9999999999"},
    "exp in the year 9999": {"exp": 253402300799},
    "no iat": {"iat": None},
}


@pytest.mark.parametrize("changes", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
@pytest.mark.parametrize("service", ["contacts", "projections"])
async def test_a_signed_token_with_malformed_claims_is_a_401_like_any_invalid_token(
    stack: Stack, changes: dict[str, object], service: str
) -> None:
    token_claims = {k: v for k, v in claims(**changes).items() if v is not None}
    token = jwt.encode(token_claims, stack.settings.jwt_secret, algorithm="HS256")
    assert await answer(stack, service, token) == await answer(stack, service, "not-a-token")


async def answer(stack: Stack, service: str, token: str) -> tuple[int, str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    if service == "contacts":
        response = await stack.contacts.post(
            "/v1/contacts", json={"first_name": "X"}, headers=headers
        )
    else:
        response = await stack.projections.get("/v1/customers", headers=headers)
    return response.status_code, response.headers["content-type"], response.json()


async def test_malformed_claims_are_told_apart_from_garbage_only_by_status_401(
    stack: Stack,
) -> None:
    status, content_type, _ = await answer(stack, "contacts", "not-a-token")
    assert (status, content_type) == (401, "application/problem+json")
