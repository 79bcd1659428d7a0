"""ETags as aggregate versions, If-Match, Idempotency-Key: the HTTP side of the write path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request
from starlette.responses import Response

from crm_shared.auth.principal import Principal
from crm_shared.eventstore.group_commit import Outcome, fingerprint
from crm_shared.http.problems import Problem

IfMatch = Annotated[
    str | None,
    Header(description='The version you last read (the ETag), e.g. "3"; a stale one is a 412'),
]
IDEMPOTENCY_KEY_MAX_LENGTH = 200
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Retrying with the same key returns the first result and writes nothing twice",
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise Problem(400, "invalid_if_match", 'If-Match must be an ETag such as "3"')
    return int(value)


async def idempotency(
    request: Request, principal: Principal, key: str | None
) -> tuple[str | None, str]:
    """The key scoped to the caller and route, and the request's fingerprint."""
    if key is None:
        return None, ""
    return scoped_idempotency(
        principal, request.method, request.url.path, key, await request.body()
    )


def scoped_idempotency(
    principal: Principal, method: str, path: str, key: str, body: bytes
) -> tuple[str, str]:
    return f"{principal.idempotency_scope}|{method}|{path}|{key}", fingerprint(body)


def outcome_response(outcome: Outcome, status: int, location: str | None = None) -> Response:
    headers = {"ETag": etag(outcome.version)}
    if location is not None:
        headers["Location"] = location
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        outcome.body, status_code=status, media_type="application/json", headers=headers
    )
