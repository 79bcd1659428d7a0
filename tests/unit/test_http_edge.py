"""The HTTP edge every service shares: errors no route handled, and strict JSON bodies."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from crm_shared.http.middleware import ResponseAborted, new_correlation_id
from crm_shared.observability.metrics import HTTP_REQUEST_SECONDS
from crm_shared.settings import Settings
from tests.unit.service_apps import client_of

SECRET = "Ada Lovelace, born 1815-12-10"  # what an exception message might quote


class Person(BaseModel):
    name: str
    custom_fields: dict[str, Any] = {}


router = APIRouter()


@router.post("/people")
async def register(person: Person) -> dict[str, Any]:
    return person.model_dump()


@router.post("/people/broken")
async def broken(person: Person) -> None:
    raise ValueError(f"cannot store {person.name}")


@router.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        raise ValueError(SECRET)

    return StreamingResponse(chunks(), media_type="application/json")


@pytest.fixture
def client() -> httpx.AsyncClient:
    return client_of(router, Settings(embedded=True))


async def test_an_unhandled_error_is_a_problem_500_with_the_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/people/broken", json={"name": SECRET}, headers={"X-Correlation-ID": "cid-123"}
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-correlation-id"] == "cid-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert (body["status"], body["code"], body["correlation_id"]) == (
        500,
        "internal_error",
        "cid-123",
    )


async def test_an_unhandled_error_gets_a_correlation_id_when_the_client_sent_none(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/people/broken", json={"name": "x"})
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"] != ""


async def test_an_unhandled_error_tells_the_client_nothing_of_its_cause(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/people/broken", json={"name": SECRET})
    assert SECRET not in response.text
    for detail in ("ValueError", "Traceback", "cannot store", "broken", ".py"):
        assert detail not in response.text


async def test_an_unhandled_error_is_logged_with_type_and_frames_but_no_message_nor_body(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await client.post("/people/broken", json={"name": SECRET})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ValueError" in logged and "in broken" in logged and "test_http_edge.py" in logged
    assert SECRET not in logged
    assert all(r.exc_info is None for r in caplog.records), "a traceback would print the message"


async def test_an_error_after_the_response_began_aborts_it_without_logging_the_message(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(ResponseAborted) as aborted:
        await client.get("/stream")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ValueError" in logged and SECRET not in logged
    assert aborted.value.__suppress_context__, "the server's traceback would show the message"


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a", "name": "b"}',
        b'{"name": "a", "custom_fields": {"tier": 1, "tier": 2}}',
        b'{"name": "a", "custom_fields": {"list": [{"x": 1, "x": 1}]}}',
    ],
)
@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
async def test_a_json_body_naming_a_member_twice_is_refused(
    client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    response = await client.post("/people", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "malformed_json"
    assert "x-correlation-id" in response.headers


async def test_a_duplicate_arriving_in_another_chunk_of_the_body_is_refused(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "a",'
        yield b' "name": "b"}'

    response = await client.post(
        "/people", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")


async def test_a_json_body_without_duplicates_reaches_the_route(
    client: httpx.AsyncClient,
) -> None:
    body = {"name": "a", "custom_fields": {"name": "a", "nested": {"name": "a"}}}
    response = await client.post("/people", json=body)
    assert (response.status_code, response.json()) == (200, body)


async def test_a_body_that_is_not_json_is_still_reported_by_validation(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/people", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_a_generated_correlation_id_is_a_random_uuid_in_its_usual_text() -> None:
    ids = {new_correlation_id() for _ in range(1000)}
    assert len(ids) == 1000
    for cid in ids:
        parsed = uuid.UUID(cid)
        assert (str(parsed), parsed.version, parsed.variant) == (cid, 4, uuid.RFC_4122)


def _requests_timed(route: str, status: str) -> float:
    labels = {"method": "POST", "route": route, "status": status}
    for sample in HTTP_REQUEST_SECONDS.collect()[0].samples:
        if sample.name.endswith("_count") and sample.labels == labels:
            return sample.value
    return 0.0


async def test_every_request_is_timed_under_its_route_and_status(
    client: httpx.AsyncClient,
) -> None:
    created, refused = _requests_timed("/people", "200"), _requests_timed("/people", "422")
    for _ in range(3):
        await client.post("/people", json={"name": "Ada"})
    await client.post("/people", json={})
    assert _requests_timed("/people", "200") == created + 3
    assert _requests_timed("/people", "422") == refused + 1
