"""The command lane: the commands sent most, served without FastAPI's request machinery.

A command route is declared once, as a FastAPI route: its OpenAPI entry, its parameters
and every refusal it answers stay FastAPI's. Its endpoint may also carry a ``LaneCommand``
(``serve_in_lane``): how to run the command from a validated body and a ``CommandContext``.
For a request that reaches such a route and is well formed (credentials that verify, a
JSON body its model accepts, well-formed headers and ids), the lane builds the context
itself and runs the command. Any other request goes on to FastAPI with its body replayed,
so that every refusal (401, 403, 400, 422) is written in one place and answers alike on
both paths; ``tests/integration/test_command_lane.py`` holds the two paths to that.

Why: FastAPI spends about 300 µs of CPU per command on routing, solving dependencies,
validating and answering (``bench/RESULTS.md``), more than the command's own work, and
the write path is CPU-bound. The lane does the same work in a few dozen microseconds.

The lane sits inside the shared middleware (correlation id, body limit, strict JSON,
security headers, metrics), which every request still passes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi.routing import RouteContext, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.commands import CommandContext
from crm_shared.http.conditional import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    expected_version,
    scoped_idempotency,
)
from crm_shared.http.deps import bearer_token, caller_of, principal_of
from crm_shared.http.problems import Problem
from crm_shared.http.strict_json import parsed_as_json

LaneRun = Callable[[Request, Any, CommandContext, dict[str, UUID]], Awaitable[Response]]
ExceptionHandlers = Mapping[Any, Callable[[Request, Exception], Any]]

_LANE = "__crm_command_lane__"
_RECORD_ID = TypeAdapter(UUID)


@dataclass(frozen=True, slots=True)
class LaneCommand:
    """How the lane runs a route's command: the request body's model, whether the command
    changes an existing record (so takes ``If-Match``), and the command itself, given the
    request, the validated body, the context and the route's record ids (every path
    parameter of a lane route is a record id: a UUID, or FastAPI answers)."""

    body: type[BaseModel]
    changing: bool
    run: LaneRun


def serve_in_lane(endpoint: Callable[..., Any], command: LaneCommand) -> None:
    """Marks a route's endpoint as one the lane serves (the route must be declared too)."""
    setattr(endpoint, _LANE, command)


@dataclass(frozen=True, slots=True)
class _Target:
    context: RouteContext
    command: LaneCommand
    path_params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A route as FastAPI's router sees it (prefix included), in FastAPI's order."""

    context: RouteContext
    path: re.Pattern[str] | None  # None: a route FastAPI matches some other way (a mount)
    methods: frozenset[str] | None
    command: LaneCommand | None


class CommandLane:
    """ASGI middleware in front of FastAPI's router, for the routes marked ``serve_in_lane``."""

    def __init__(
        self, app: ASGIApp, *, routes: list[BaseRoute], exception_handlers: ExceptionHandlers
    ) -> None:
        self.app = app
        # Read at the first request: routers are included after the middleware is added.
        self._routes = routes
        self._handlers = exception_handlers
        self._candidates: list[_Candidate] | None = None
        self._methods: frozenset[str] = frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._candidates is None:
            self._candidates = _candidates(self._routes)
            self._methods = frozenset(
                method
                for candidate in self._candidates
                if candidate.command is not None
                for method in candidate.methods or ()
            )
        target = (
            self._target(scope, self._candidates)
            if scope["type"] == "http" and scope["method"] in self._methods
            else None
        )
        if target is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left, or the middleware refused the body and answered
            return
        replay = _replaying(body, receive)
        request = Request(scope, replay)
        prepared = await _prepare(request, target, body)
        if prepared is None:
            await self.app(scope, replay, send)
            return
        payload, context, ids = prepared
        scope["route"], scope["endpoint"] = target.context, target.context.endpoint
        scope["path_params"] = target.path_params
        try:
            response = await target.command.run(request, payload, context, ids)
        except Exception as error:
            handler = self._handler_for(error)
            if handler is None:
                raise
            answer = handler(request, error)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, replay, send)

    @staticmethod
    def _target(scope: Scope, candidates: list[_Candidate]) -> _Target | None:
        """The lane's route for this request, if the route FastAPI picks is one: the first
        whose path and method both match, as Starlette's router picks."""
        if scope.get("root_path"):
            return None  # mounted under a prefix: FastAPI's router knows how to strip it
        path, method = scope["path"], scope["method"]
        for candidate in candidates:
            if candidate.path is None:
                if candidate.context.matches(scope)[0] is not Match.NONE:
                    return None
                continue
            found = candidate.path.match(path)
            if found is None or (candidate.methods is not None and method not in candidate.methods):
                continue
            if candidate.command is None:
                return None
            convertors = candidate.context.param_convertors
            params = {
                name: convertors[name].convert(value) for name, value in found.groupdict().items()
            }
            return _Target(candidate.context, candidate.command, params)
        return None

    def _handler_for(self, error: Exception) -> Callable[[Request, Exception], Any] | None:
        """The app's handler for this error, found as Starlette finds it (by the MRO)."""
        for cls in type(error).__mro__:
            if cls in self._handlers:
                return self._handlers[cls]
        return None


def _candidates(routes: list[BaseRoute]) -> list[_Candidate]:
    candidates = []
    for context in iter_route_contexts(routes):
        path = getattr(context, "path_regex", None)
        methods = context.methods
        candidates.append(
            _Candidate(
                context,
                path,
                frozenset(methods) if methods is not None else None,
                getattr(context.endpoint, _LANE, None),
            )
        )
    return candidates


async def _prepare(
    request: Request, target: _Target, body: bytes
) -> tuple[Any, CommandContext, dict[str, UUID]] | None:
    """The command's body, context and record ids; None when anything is amiss, for
    FastAPI to answer."""
    headers = request.headers
    if not parsed_as_json(_raw(headers.get("content-type"))):
        return None
    try:
        ids = {
            name: _RECORD_ID.validate_python(value) for name, value in target.path_params.items()
        }
        payload = target.command.body.model_validate_json(body)
    except ValidationError:
        return None
    key = headers.get("idempotency-key")
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        return None
    try:
        principal = await principal_of(
            request.app.state,
            bearer_token(headers.get("authorization")),
            headers.get("x-api-key") or None,
        )
        version = expected_version(headers.get("if-match")) if target.command.changing else None
    except Problem:
        return None
    scoped, fingerprint = (
        scoped_idempotency(principal, request.method, request.url.path, key, body)
        if key is not None
        else (None, "")
    )
    context = CommandContext(
        caller_of(principal),
        expected_version=version,
        idempotency_key=scoped,
        fingerprint=fingerprint,
    )
    return payload, context, ids


def _raw(value: str | None) -> bytes | None:
    return None if value is None else value.encode("latin-1")


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then whatever the client sends."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
