"""The contacts service answers alike with and without its command lane: the same status,
the same problem, the same headers, over the real event store. (The lane's own rules are
specified in tests/unit/test_command_lane.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from crm_shared.auth.principal import Role
from crm_shared.http.command_lane import CommandLane
from crm_shared.service import installed_services, load
from tests.e2e.conftest import Stack, register_contact

# What differs between any two answers, whoever serves them.
VARYING = {"id", "created_at", "updated_at", "x-correlation-id", "location", "date"}


@pytest.fixture(scope="module")
async def without_lane(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A second contacts process on the same store, with FastAPI serving every command."""
    app = load(installed_services()["contacts"].app_factory)(stack.settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not CommandLane]
    async with AsyncExitStack() as exits:
        await exits.enter_async_context(app.router.lifespan_context(app))
        yield await exits.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )


def comparable(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in VARYING}
    body: Any = response.content
    if response.headers.get("content-type", "").endswith("json") and response.content:
        body = {k: v for k, v in response.json().items() if k not in VARYING}
    return response.status_code, headers, body


async def both(
    stack: Stack, without_lane: httpx.AsyncClient, method: str, path: str, **kwargs: Any
) -> tuple[httpx.Response, httpx.Response]:
    by_lane = await stack.contacts.request(method, path, **kwargs)
    by_fastapi = await without_lane.request(method, path, **kwargs)
    return by_lane, by_fastapi


def email() -> str:
    return f"lane-{uuid4().hex[:12]}@example.com"


async def test_a_registration_answers_alike_on_both_paths(
    stack: Stack, without_lane: httpx.AsyncClient
) -> None:
    body = {"first_name": "Ada", "tags": ["vip"], "department": "sales"}
    by_lane, by_fastapi = await both(
        stack, without_lane, "POST", "/v1/contacts", json=body, headers=stack.auth()
    )
    assert by_lane.status_code == 201
    assert comparable(by_lane) == comparable(by_fastapi)
    for answer in (by_lane, by_fastapi):
        assert answer.headers["location"] == f"/v1/contacts/{answer.json()['id']}"


async def test_a_refused_registration_answers_alike_on_both_paths(
    stack: Stack, without_lane: httpx.AsyncClient
) -> None:
    auth = stack.auth()
    cases: list[tuple[str, dict[str, Any]]] = [
        ("no credentials", {"json": {"first_name": "Ada"}}),
        ("an unknown API key", {"json": {"first_name": "Ada"}, "headers": {"X-API-Key": "crm_x"}}),
        ("an invalid e-mail", {"json": {"emails": [{"address": "no"}]}, "headers": auth}),
        ("an unknown field", {"json": {"shoe_size": 42}, "headers": auth}),
        (
            "a body that is not JSON",
            {"content": b"{", "headers": {**auth, "Content-Type": "application/json"}},
        ),
        ("a text body", {"content": b"{}", "headers": {**auth, "Content-Type": "text/plain"}}),
        (
            "a department not the rep's",
            {"json": {"department": "support"}, "headers": stack.auth(Role.SALES_REP)},
        ),
    ]
    for description, kwargs in cases:
        by_lane, by_fastapi = await both(stack, without_lane, "POST", "/v1/contacts", **kwargs)
        assert by_lane.status_code >= 400, description
        assert comparable(by_lane) == comparable(by_fastapi), description


async def test_changing_answers_alike_on_both_paths(
    stack: Stack, without_lane: httpx.AsyncClient
) -> None:
    auth = stack.auth()
    contact = await register_contact(stack)
    path = f"/v1/contacts/{contact['id']}"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (
            "a stale If-Match",
            path,
            {"json": {"job_title": "x"}, "headers": {**auth, "If-Match": '"9"'}},
        ),
        (
            "a malformed If-Match",
            path,
            {"json": {"job_title": "x"}, "headers": {**auth, "If-Match": "9"}},
        ),
        (
            "an unknown contact",
            f"/v1/contacts/{uuid4()}",
            {"json": {"job_title": "x"}, "headers": auth},
        ),
        (
            "an id that is not one",
            "/v1/contacts/nope",
            {"json": {"job_title": "x"}, "headers": auth},
        ),
        ("an invalid e-mail", path, {"json": {"emails": [{"address": "no"}]}, "headers": auth}),
        (
            "another department",
            path,
            {
                "json": {"job_title": "x"},
                "headers": stack.auth(Role.SALES_REP, department="support"),
            },
        ),
    ]
    for description, target, kwargs in cases:
        by_lane, by_fastapi = await both(stack, without_lane, "PATCH", target, **kwargs)
        assert by_lane.status_code >= 400, description  # refusals only: nothing changes
        assert comparable(by_lane) == comparable(by_fastapi), description
    # Each path changes the record in turn, on the version the other left.
    by_lane = await stack.contacts.patch(
        path, json={"job_title": "a"}, headers={**auth, "If-Match": '"1"'}
    )
    by_fastapi = await without_lane.patch(
        path, json={"job_title": "b"}, headers={**auth, "If-Match": '"2"'}
    )
    assert (by_lane.status_code, by_lane.headers.get("etag")) == (200, '"2"'), by_lane.text
    assert (by_fastapi.status_code, by_fastapi.headers["etag"]) == (200, '"3"')
    assert by_fastapi.json()["job_title"] == "b"


async def test_an_idempotency_key_means_the_same_on_both_paths(
    stack: Stack, without_lane: httpx.AsyncClient
) -> None:
    """A retry through either path finds the first answer: the key is scoped and the body
    fingerprinted alike."""
    headers = {**stack.auth(), "Idempotency-Key": f"lane-{uuid4()}"}
    body = {"first_name": "Grace", "emails": [{"address": email()}]}
    first = await stack.contacts.post("/v1/contacts", json=body, headers=headers)
    retried = await without_lane.post("/v1/contacts", json=body, headers=headers)
    assert first.status_code == retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == first.json()
    other_body = await stack.contacts.post(
        "/v1/contacts", json={**body, "first_name": "Ada"}, headers=headers
    )
    other_body_fastapi = await without_lane.post(
        "/v1/contacts", json={**body, "first_name": "Ada"}, headers=headers
    )
    assert comparable(other_body) == comparable(other_body_fastapi)
    assert other_body.json()["code"] == "idempotency_key_reused"


def test_the_commands_sent_most_take_the_lane(stack: Stack) -> None:
    """Creating and changing contacts and accounts: the routes the lane serves."""
    app = load(installed_services()["contacts"].app_factory)(stack.settings)
    assert any(m.cls is CommandLane for m in app.user_middleware)
    routes = {
        (method, context.path)
        for context in iter_route_contexts(app.router.routes)
        if getattr(context.endpoint, "__crm_command_lane__", None) is not None
        for method in context.methods or ()
    }
    assert routes == {
        ("POST", "/v1/contacts"),
        ("PATCH", "/v1/contacts/{contact_id}"),
        ("POST", "/v1/accounts"),
        ("PATCH", "/v1/accounts/{account_id}"),
    }
