"""The command lane: which requests it serves itself, and that it hands every other one to
FastAPI untouched (body included), so that refusals stay FastAPI's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse, Response

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.commands import CommandContext
from crm_shared.domain import NotFound
from crm_shared.http.command_lane import LaneCommand, serve_in_lane
from crm_shared.http.commands import Changing, Creating
from crm_shared.settings import Settings
from tests.unit.service_apps import client_of

SETTINGS = Settings(embedded=True)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


def answer(served_by: str, note: Note, context: CommandContext, ids: dict[str, UUID]) -> Response:
    if note.text == "missing":
        raise NotFound("no such note")
    return JSONResponse(
        {
            "served_by": served_by,
            "text": note.text,
            "caller": context.principal.id,
            "expected_version": context.expected_version,
            "idempotency_key": context.idempotency_key,
            "fingerprint": context.fingerprint,
            "ids": {name: str(value) for name, value in ids.items()},
        },
        status_code=201 if not ids else 200,
    )


router = APIRouter(prefix="/notes")


async def lane_create(
    _: Request, note: Note, context: CommandContext, ids: dict[str, UUID]
) -> Response:
    return answer("lane", note, context, ids)


@router.post("", status_code=201)
async def create(note: Note, context: Creating) -> Response:
    return answer("fastapi", note, context, {})


serve_in_lane(create, LaneCommand(Note, changing=False, run=lane_create))


# Declared before the lane's PATCH route and matching some of its paths: FastAPI picks it.
@router.patch("/pinned")
async def change_pinned() -> dict[str, str]:
    return {"served_by": "pinned"}


async def lane_change(
    _: Request, note: Note, context: CommandContext, ids: dict[str, UUID]
) -> Response:
    return answer("lane", note, context, ids)


@router.patch("/{note_id}")
async def change(note_id: Annotated[UUID, Path()], note: Note, context: Changing) -> Response:
    return answer("fastapi", note, context, {"note_id": note_id})


serve_in_lane(change, LaneCommand(Note, changing=True, run=lane_change))


@pytest.fixture
def client() -> httpx.AsyncClient:
    return client_of(router, SETTINGS, name="notes", roles=frozenset({Role.ADMIN}))


def auth(role: Role = Role.ADMIN) -> dict[str, str]:
    token = issue_token(SETTINGS, principal_id="ada", role=role, departments=["sales"])
    return {"Authorization": f"Bearer {token}"}


async def test_a_well_formed_command_is_served_by_the_lane(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", json={"text": "hello"}, headers=auth())
    assert response.status_code == 201
    assert response.json()["served_by"] == "lane"
    assert response.json()["caller"] == "ada"


async def test_the_lane_builds_the_context_fastapi_builds(client: httpx.AsyncClient) -> None:
    note_id = uuid4()
    headers = {**auth(), "If-Match": '"3"', "Idempotency-Key": "k-1"}
    by_lane = (await client.patch(f"/notes/{note_id}", json={"text": "a"}, headers=headers)).json()
    assert by_lane["served_by"] == "lane"
    assert by_lane["expected_version"] == 3
    assert by_lane["idempotency_key"] == f"ada|PATCH|/notes/{note_id}|k-1"
    assert by_lane["ids"] == {"note_id": str(note_id)}
    assert len(by_lane["fingerprint"]) == 64


async def test_a_route_declared_before_the_lanes_keeps_its_paths(client: httpx.AsyncClient) -> None:
    response = await client.patch("/notes/pinned", json={"text": "x"}, headers=auth())
    assert response.json() == {"served_by": "pinned"}


@pytest.mark.parametrize(
    ("description", "request_kwargs", "status", "code"),
    [
        ("no credentials", {"json": {"text": "x"}}, 401, "unauthorized"),
        (
            "a token that does not verify",
            {"json": {"text": "x"}, "headers": {"Authorization": "Bearer nonsense"}},
            401,
            "unauthorized",
        ),
        (
            "a scheme that is not bearer",
            {"json": {"text": "x"}, "headers": {"Authorization": "Basic YWRhOng="}},
            401,
            "unauthorized",
        ),
        ("a body the model refuses", {"json": {"text": 5, "extra": 1}}, 422, "validation_error"),
        ("a body that is not JSON", {"content": b"{not json"}, 422, "validation_error"),
        ("an empty body", {"content": b""}, 422, "validation_error"),
        (
            "a content type that is not JSON",
            {"content": b'{"text": "x"}', "headers": {"Content-Type": "text/plain"}},
            422,
            "validation_error",
        ),
        (
            "an idempotency key too long",
            {"json": {"text": "x"}, "headers": {"Idempotency-Key": "k" * 201}},
            422,
            "validation_error",
        ),
    ],
)
async def test_a_request_the_lane_cannot_serve_gets_fastapis_answer(
    client: httpx.AsyncClient,
    description: str,
    request_kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    headers = request_kwargs.pop("headers", {})
    if description != "no credentials":
        headers = {**auth(), **headers}
    response = await client.post("/notes", headers=headers, **request_kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_a_role_the_service_refuses_gets_fastapis_403(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", json={"text": "x"}, headers=auth(Role.MARKETER))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_a_malformed_if_match_gets_fastapis_400(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        f"/notes/{uuid4()}", json={"text": "x"}, headers={**auth(), "If-Match": "three"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_if_match"


async def test_an_id_that_is_not_a_uuid_gets_fastapis_422(client: httpx.AsyncClient) -> None:
    response = await client.patch("/notes/not-a-uuid", json={"text": "x"}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.note_id"


async def test_a_refusal_by_the_command_is_answered_by_the_apps_handler(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/notes", json={"text": "missing"}, headers=auth())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert response.headers["x-content-type-options"] == "nosniff"  # the middleware's


async def test_a_body_over_the_limit_is_refused_before_the_lane(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/notes", json={"text": "x" * (SETTINGS.max_body_bytes + 1)}, headers=auth()
    )
    assert response.status_code == 413


async def test_a_body_naming_a_member_twice_is_refused_before_the_lane(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/notes",
        content=b'{"text": "a", "text": "b"}',
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


async def test_other_routes_and_methods_pass_through(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.put("/notes", json={"text": "x"}, headers=auth())).status_code == 405


async def test_a_streamed_body_over_the_limit_is_refused_once(client: httpx.AsyncClient) -> None:
    """Without a declared length the middleware counts the body as the lane reads it: the
    client gets one 413, and the lane answers nothing more."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(SETTINGS.max_body_bytes // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = await client.post(
        "/notes", content=chunks(), headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_streamed_body_within_the_limit_is_served_by_the_lane(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": '
        yield b'"in pieces"}'

    response = await client.post(
        "/notes", content=chunks(), headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json() == {**response.json(), "served_by": "lane", "text": "in pieces"}
