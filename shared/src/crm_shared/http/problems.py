"""Errors as RFC 9457 ``application/problem+json`` with a machine-readable ``code``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from crm_shared.domain import DomainError, NotFound
from crm_shared.eventstore.group_commit import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    VersionMismatch,
)

PROBLEM_JSON = "application/problem+json"

DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    VersionMismatch: 412,
    ConcurrencyConflict: 409,
    IdempotencyKeyReused: 422,
}


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.errors, self.headers = errors, headers


def problem_response(problem: Problem) -> Response:
    body: dict[str, Any] = {
        "type": f"https://crm.dev/problems/{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "code": problem.code,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    return Response(
        orjson.dumps(body),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, error: Exception) -> Response:
        assert isinstance(error, Problem)
        return problem_response(error)

    async def on_validation(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"field": _field_path(e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in error.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            Problem(
                422, "validation_error", "The request is not valid", f"invalid: {fields}", errors
            )
        )

    async def on_domain(_: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        status = next(
            (s for cls, s in DOMAIN_STATUS.items() if isinstance(error, cls)),
            getattr(error, "status", 409),
        )
        # A rule about one request field (a refused reference, say) names it, as validation does.
        field = getattr(error, "field", None)
        errors = [{"field": field, "message": str(error), "type": error.code}] if field else None
        return problem_response(
            Problem(status, error.code, type(error).__name__, str(error), errors)
        )

    async def on_http(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return problem_response(
            Problem(
                error.status_code,
                code,
                str(error.detail),
                headers=dict(error.headers) if error.headers else None,
            )
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(StarletteHTTPException, on_http)
