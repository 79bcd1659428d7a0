"""Errors as RFC 9457 ``application/problem+json`` with a machine-readable ``code``.

The one place where a refusal becomes an HTTP status: domain errors say what kind of
refusal they are (``crm_shared.domain``), and ``STATUS`` says how HTTP answers each kind."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from crm_shared.domain import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    PreconditionFailed,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Each kind of refusal: its status, and the title every problem of that kind carries.
STATUS: dict[type[DomainError], tuple[int, str]] = {
    NotFound: (404, "Not found"),
    Forbidden: (403, "Not allowed"),
    Conflict: (409, "Conflict"),
    Gone: (410, "Gone"),
    Invalid: (422, "The request is not valid"),
    PreconditionFailed: (412, "Precondition failed"),
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


def domain_problem(error: DomainError) -> Problem:
    answer = next((a for kind, a in STATUS.items() if isinstance(error, kind)), None)
    if answer is None:  # a domain error outside the kinds above: a bug, answered as one
        log.error("%s is no kind of refusal (crm_shared.domain)", type(error).__name__)
        return Problem(500, "internal_error", "Internal server error")
    status, title = answer
    # A rule about one of the command's values names it as validation does: over HTTP a
    # command's values are its request body's.
    field: str | None = getattr(error, "field", None)
    errors = (
        [{"field": f"body.{field}", "message": str(error), "type": error.code}] if field else None
    )
    return Problem(status, error.code, title, str(error), errors)


def invalid_cursor(error: Exception) -> Problem:
    """A paging cursor this API did not hand out: a query parameter that is not valid,
    answered as every other (422, naming ``query.cursor``), on every list."""
    return Problem(
        422,
        "validation_error",
        "The request is not valid",
        str(error),
        [{"field": "query.cursor", "message": str(error), "type": "value_error"}],
    )


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
        return problem_response(domain_problem(error))

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
