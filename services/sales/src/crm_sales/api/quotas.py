"""/v1/quotas: sales targets per owner and per team and period.

(No ``from __future__ import annotations``: FastAPI reads the annotations when the routes
are defined.)"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from crm_sales.api.exact_json import documented_body, exact_body
from crm_sales.api.planning_deps import PlanningUseCases
from crm_sales.api.planning_schemas import PutQuota
from crm_sales.domain.quota import QuotaHolder
from crm_sales.planning.commands import SetQuota
from crm_sales.planning.views import QuotaView
from crm_shared.commands import CommandContext
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON, or If-Match is not an ETag"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "Only managers and admins set quotas, in departments they manage"},
    404: {"description": "No such quota, or one out of the caller's sight"},
    409: {"description": "Changed concurrently: retry"},
    412: {"description": "If-Match is not the quota's current version"},
    422: {"description": "Not a period, a currency or an amount (the error names the field)"},
}

Period = Annotated[str, Path(description="A year (2026), a quarter (2026-Q4) or a month (2026-11)")]
Owner = Annotated[str, Path(min_length=1, max_length=128, description="The rep (user id)")]
Team = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]

router = APIRouter(prefix="/v1/quotas", tags=["quotas"])


async def _set(
    holder: QuotaHolder,
    who: str,
    period: str,
    request: Request,
    planning: PlanningUseCases,
    context: CommandContext,
) -> Response:
    body = await exact_body(request, PutQuota)
    command = SetQuota(
        holder=holder,
        who=who,
        period=period,
        amount=body.amount,
        currency=body.currency,
        department=body.department,
    )
    return outcome_response(await planning.set_quota(command, context), 200)


@router.put(
    "/{period}/owners/{owner}",
    summary="Set an owner's quota for a period (replacing it)",
    response_model=QuotaView,
    responses=RESPONSES,
    operation_id="set_owner_quota",
    openapi_extra=documented_body(PutQuota),
)
async def set_owner_quota(
    period: Period, owner: Owner, request: Request, planning: PlanningUseCases, context: Changing
) -> Response:
    return await _set(QuotaHolder.OWNER, owner, period, request, planning, context)


@router.put(
    "/{period}/teams/{team}",
    summary="Set a team's quota for a period (replacing it)",
    response_model=QuotaView,
    responses=RESPONSES,
    operation_id="set_team_quota",
    openapi_extra=documented_body(PutQuota),
)
async def set_team_quota(
    period: Period, team: Team, request: Request, planning: PlanningUseCases, context: Changing
) -> Response:
    return await _set(QuotaHolder.TEAM, team, period, request, planning, context)


@router.get(
    "/{period}/owners/{owner}",
    summary="An owner's quota for a period",
    response_model=QuotaView,
    responses=RESPONSES,
    operation_id="get_owner_quota",
)
async def get_owner_quota(
    period: Period, owner: Owner, planning: PlanningUseCases, principal: CurrentPrincipal
) -> QuotaView:
    return await asyncio.to_thread(planning.quota, QuotaHolder.OWNER, owner, period, principal)


@router.get(
    "/{period}/teams/{team}",
    summary="A team's quota for a period",
    response_model=QuotaView,
    responses=RESPONSES,
    operation_id="get_team_quota",
)
async def get_team_quota(
    period: Period, team: Team, planning: PlanningUseCases, principal: CurrentPrincipal
) -> QuotaView:
    return await asyncio.to_thread(planning.quota, QuotaHolder.TEAM, team, period, principal)
