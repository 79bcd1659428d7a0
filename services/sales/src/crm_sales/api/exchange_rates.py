"""/v1/exchange-rates: dated rates against the corporate currency, kept as events.

(No ``from __future__ import annotations``: FastAPI reads the annotations when the routes
are defined.)"""

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from crm_sales.api.exact_json import documented_body, exact_body
from crm_sales.api.planning_deps import PlanningUseCases
from crm_sales.api.planning_schemas import PutRate
from crm_sales.planning.commands import PutExchangeRate
from crm_sales.planning.views import ExchangeRatesView, RateInForceView
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.values import Instant

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON, or If-Match is not an ETag"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "Only managers and admins put rates"},
    404: {"description": "No rate of the currency in force on the date (as known then)"},
    409: {"description": "Changed concurrently: retry"},
    412: {"description": "If-Match is not the current version of the currency's rates"},
    422: {
        "description": "Not an ISO 4217 currency, the corporate currency, or a rate <= 0 "
        "(the error names the field)"
    },
}

Currency = Annotated[str, Path(pattern=r"^[A-Z]{3}$", description="ISO 4217")]

router = APIRouter(prefix="/v1/exchange-rates", tags=["exchange rates"])


@router.put(
    "/{currency}/{date}",
    summary="Put the currency's rate from a date on (the same rate again changes nothing; "
    "another is a correction)",
    response_model=ExchangeRatesView,
    responses=RESPONSES,
    operation_id="put_exchange_rate",
    openapi_extra=documented_body(PutRate),
)
async def put_exchange_rate(
    currency: Currency,
    effective: Annotated[
        date, Path(alias="date", description="The date the rate is in force from")
    ],
    request: Request,
    planning: PlanningUseCases,
    context: Changing,
) -> Response:
    body = await exact_body(request, PutRate)
    command = PutExchangeRate(currency=currency, effective=effective, rate=body.rate)
    return outcome_response(await planning.put_exchange_rate(command, context), 200)


@router.get(
    "/{currency}",
    summary="Every rate of the currency by date, with when each was recorded and corrected",
    response_model=ExchangeRatesView,
    responses=RESPONSES,
    operation_id="list_exchange_rates",
)
async def list_exchange_rates(
    currency: Currency, planning: PlanningUseCases, _: CurrentPrincipal
) -> ExchangeRatesView:
    return await asyncio.to_thread(planning.exchange_rates, currency)


@router.get(
    "/{currency}/{date}",
    summary="The rate in force on a date, as it was known at an instant (default: now)",
    response_model=RateInForceView,
    responses=RESPONSES,
    operation_id="get_exchange_rate",
)
async def get_exchange_rate(
    currency: Currency,
    on: Annotated[date, Path(alias="date", description="The date the rate is asked for")],
    planning: PlanningUseCases,
    _: CurrentPrincipal,
    as_known_at: Annotated[
        Instant | None, Query(description="Rates recorded later are not known yet")
    ] = None,
) -> RateInForceView:
    known_at = as_known_at or datetime.now(UTC)
    return await asyncio.to_thread(planning.rate_in_force, currency, on, known_at)
