"""/v1/forecast: the pipeline forecast, what moved it, and the funnel, as of any instant.

Only the roles that may see deals (those that may use the sales service) read them, and
only their departments' deals and quotas (``crm_shared.auth.policy``). The arithmetic is
the sales domain's (``crm_sales.domain.forecast``, ``forecast_changes``, ``funnel``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from psycopg_pool import AsyncConnectionPool

from crm_projections.api.formats import Format, negotiate, not_acceptable, respond
from crm_projections.forecast import reports
from crm_projections.forecast.reading import read_changes, read_forecast, read_funnel
from crm_sales.domain.forecast import GroupBy
from crm_sales.domain.money import minor_units
from crm_sales.domain.periods import Period, period
from crm_sales.main import SERVICE as SALES
from crm_shared.auth.policy import may_use_service, readable_departments
from crm_shared.auth.principal import Principal
from crm_shared.domain import Invalid
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.problems import Problem
from crm_shared.values import Instant

router = APIRouter(prefix="/v1/forecast", tags=["forecast"])

_REPORT = {
    "content": {f.value: {} for f in Format},
    "description": "The report as JSON, CSV or XLSX, as `Accept` asks",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _REPORT,
    401: {"description": "Missing or invalid token"},
    403: {"description": "The caller's role may not see deals"},
    406: {"description": "`Accept` names none of JSON, CSV and XLSX"},
    422: {"description": "Invalid period, currency or instant, or no rate in force"},
}

PeriodText = Annotated[
    str,
    Query(
        alias="period",
        max_length=16,
        description="A year (2026), a quarter (2026-Q4) or a month (2026-11)",
    ),
]
Currency = Annotated[
    str | None,
    Query(max_length=3, description="ISO 4217; by default the corporate currency of the rates"),
]


def deal_viewer(principal: CurrentPrincipal) -> Principal:
    """Deals are seen by the roles that may use the sales service, which holds them."""
    if not may_use_service(principal, SALES.roles):
        raise Problem(403, "forbidden", "Not allowed", f"role {principal.role} may not see deals")
    return principal


DealViewer = Annotated[Principal, Depends(deal_viewer)]


def _refused(error: Invalid, parameter: str | None = None) -> Problem:
    """A rule about a query parameter, naming it as validation does (``query.<name>``)."""
    field = parameter or error.field or "query"
    return Problem(
        422,
        error.code,
        "The request is not valid",
        str(error),
        [{"field": f"query.{field}", "message": str(error), "type": error.code}],
    )


def _period(text: str) -> Period:
    try:
        return period(text)
    except Invalid as error:
        raise _refused(error, "period") from None


def _currency(asked: str | None) -> str | None:
    if asked is None:
        return None
    try:
        minor_units(asked.upper())
    except Invalid as error:
        raise _refused(error, "currency") from None
    return asked.upper()


def _acceptable(accept: str | None) -> None:
    """Refused before any work is done for it."""
    if negotiate(accept) is None:
        raise not_acceptable()


def _pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


def _past(instant: datetime | None, now: datetime, name: str) -> None:
    if instant is not None and instant > now:
        raise Problem(
            422,
            "validation_error",
            "The request is not valid",
            f"{name} is in the future: the forecast is known up to now",
            [{"field": f"query.{name}", "message": "must not be in the future", "type": "future"}],
        )


@router.get(
    "",
    summary="The pipeline forecast for a period, per group, now or as of an instant",
    responses=RESPONSES,
    operation_id="get_forecast",
)
async def get_forecast(
    request: Request,
    principal: DealViewer,
    period_: PeriodText,
    group_by: GroupBy = GroupBy.OWNER,
    currency: Currency = None,
    as_of: Annotated[
        Instant | None, Query(description="An instant with its offset; default now")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    _acceptable(accept)
    within, asked = _period(period_), _currency(currency)
    now = datetime.now(UTC)
    _past(as_of, now, "as_of")
    async with _pool(request).connection() as conn:
        try:
            report = await read_forecast(
                conn, within, group_by, asked, as_of, now, readable_departments(principal)
            )
        except Invalid as error:  # no rate in force for a deal's or the report's currency
            raise _refused(error, "currency") from None
    return respond(
        accept,
        f"forecast-{within.label}",
        lambda: reports.forecast_document(report),
        lambda: reports.forecast_table(report),
    )


@router.get(
    "/changes",
    summary="What moved the forecast of a period between two instants",
    responses=RESPONSES,
    operation_id="get_forecast_changes",
)
async def get_forecast_changes(
    request: Request,
    principal: DealViewer,
    period_: PeriodText,
    from_: Annotated[Instant, Query(alias="from")],
    to: Annotated[Instant | None, Query(description="Default now")] = None,
    currency: Currency = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    _acceptable(accept)
    within, asked = _period(period_), _currency(currency)
    now = datetime.now(UTC)
    _past(from_, now, "from")
    _past(to, now, "to")
    until = to or now
    async with _pool(request).connection() as conn:
        try:
            report = await read_changes(
                conn, within, from_, until, asked, readable_departments(principal)
            )
        except Invalid as error:
            raise _refused(error, "currency" if error.field == "currency" else "from") from None
    return respond(
        accept,
        f"forecast-changes-{within.label}",
        lambda: reports.changes_document(report),
        lambda: reports.changes_table(report),
    )


@router.get(
    "/funnel",
    summary="Stage-to-stage conversion and median days in each stage of a pipeline",
    responses={**RESPONSES, 404: {"description": "No such pipeline"}},
    operation_id="get_forecast_funnel",
)
async def get_funnel(
    request: Request,
    principal: DealViewer,
    pipeline: Annotated[str, Query(min_length=1, max_length=200)],
    period_: PeriodText,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    _acceptable(accept)
    if "\x00" in pipeline:  # PostgreSQL text cannot hold NUL: no pipeline is named so
        raise Problem(404, "not_found", "No such pipeline", "no such pipeline")
    within = _period(period_)
    async with _pool(request).connection() as conn:
        report = await read_funnel(conn, pipeline, within, readable_departments(principal))
    if report is None:
        raise Problem(404, "not_found", "No such pipeline", f"no pipeline {pipeline!r}")
    return respond(
        accept,
        f"funnel-{report.pipeline}-{within.label}",
        lambda: reports.funnel_document(report),
        lambda: reports.funnel_table(report),
    )
