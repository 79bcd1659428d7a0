"""/v1/opportunities: deals moving through a pipeline's stages until won or lost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sales.api import deal_schemas as schemas
from crm_sales.api.leads import Sales, sales_app
from crm_sales.deal_commands import (
    ChangeOpportunity,
    LoseOpportunity,
    MoveOpportunity,
    OpenOpportunity,
    WinOpportunity,
)
from crm_sales.deal_views import OpportunityView
from crm_sales.deals import OPPORTUNITY
from crm_shared.commands import CommandContext
from crm_shared.http.command_lane import LaneCommand, serve_in_lane
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.records import routes

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    409: {"description": "The deal is won or lost (final), or changed concurrently"},
}

router = APIRouter(prefix="/v1/opportunities", tags=["opportunities"])


def open_deal(
    *, values: dict[str, Any], owner: str | None, department: str | None
) -> OpenOpportunity:
    return OpenOpportunity(values=schemas.recorded(values), owner=owner, department=department)


def change(*, record_id: UUID, changes: dict[str, Any]) -> ChangeOpportunity:
    return ChangeOpportunity(record_id=record_id, changes=schemas.recorded(changes))


def today() -> date:
    return datetime.now(UTC).date()


routes.add_create_route(
    router,
    OPPORTUNITY,
    body=schemas.OpenOpportunity,
    command=open_deal,
    application=sales_app,
    responses=RESPONSES,
    summary="Open a deal in a pipeline, at its first open stage unless another is named",
    operation_id="open_opportunity",
)
routes.add_change_route(
    router,
    OPPORTUNITY,
    body=schemas.ChangeOpportunity,
    command=change,
    application=sales_app,
    responses=RESPONSES,
    summary="Change some of a deal's fields; a probability or category set here sticks",
    operation_id="update_opportunity",
)


async def run_move(
    request: Request, body: schemas.MoveOpportunity, context: CommandContext, ids: dict[str, UUID]
) -> Response:
    sales = await sales_app(request)
    command = MoveOpportunity(record_id=ids["opportunity_id"], stage=body.stage)
    return outcome_response(await sales.handle(command, context), 200)


@router.post(
    "/{opportunity_id}/stage",
    summary="Move a deal to another open stage (won and lost: /win, /lose)",
    response_model=OpportunityView,
    responses=RESPONSES,
    operation_id="move_opportunity",
)
async def move_opportunity(
    opportunity_id: UUID, body: schemas.MoveOpportunity, request: Request, context: Changing
) -> Response:
    return await run_move(request, body, context, {"opportunity_id": opportunity_id})


# Stage changes are the commands a deal is sent most: they take the command lane too.
serve_in_lane(move_opportunity, LaneCommand(schemas.MoveOpportunity, changing=True, run=run_move))


@router.post(
    "/{opportunity_id}/win",
    summary="Win a deal: 100 % and closed, final",
    response_model=OpportunityView,
    responses=RESPONSES,
    operation_id="win_opportunity",
)
async def win_opportunity(
    opportunity_id: UUID,
    sales: Sales,
    context: Changing,
    body: schemas.WinOpportunity | None = None,
) -> Response:
    closed_on = (body.closed_on if body else None) or today()
    command = WinOpportunity(record_id=opportunity_id, closed_on=closed_on)
    return outcome_response(await sales.handle(command, context), 200)


@router.post(
    "/{opportunity_id}/lose",
    summary="Lose a deal, saying why: 0 % and omitted, final",
    response_model=OpportunityView,
    responses=RESPONSES,
    operation_id="lose_opportunity",
)
async def lose_opportunity(
    opportunity_id: UUID, body: schemas.LoseOpportunity, sales: Sales, context: Changing
) -> Response:
    command = LoseOpportunity(
        record_id=opportunity_id, reason=body.reason, closed_on=body.closed_on or today()
    )
    return outcome_response(await sales.handle(command, context), 200)


routes.add_record_routes(router, OPPORTUNITY, application=sales_app, responses=RESPONSES)
