"""/v1/leads: people who may become customers."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crm_sales.api import schemas
from crm_sales.application import LEAD, SalesApplication
from crm_sales.commands import (
    ChangeLead,
    DisqualifyLead,
    QualifyLead,
    RegisterLead,
    StartWorkingLead,
)
from crm_sales.views import LeadView
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.records import routes

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    409: {"description": "The lead's status refuses this (converted, or disqualified)"},
}


async def sales_app(request: Request) -> SalesApplication:
    app: SalesApplication = request.app.state.use_cases
    return app


Sales = Annotated[SalesApplication, Depends(sales_app)]

router = APIRouter(prefix="/v1/leads", tags=["leads"])

routes.add_create_route(
    router,
    LEAD,
    body=schemas.RegisterLead,
    command=RegisterLead,
    application=sales_app,
    responses=RESPONSES,
    summary="Register a lead (scored at once)",
    operation_id="register_lead",
)
routes.add_change_route(
    router,
    LEAD,
    body=schemas.ChangeLead,
    command=ChangeLead,
    application=sales_app,
    responses=RESPONSES,
    summary="Change some of a lead's fields (rescored at once)",
    operation_id="update_lead",
)


@router.post(
    "/{lead_id}/work",
    summary="Start working a new lead (status new → working)",
    response_model=LeadView,
    responses=RESPONSES,
    operation_id="start_working_lead",
)
async def start_working_lead(lead_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(StartWorkingLead(record_id=lead_id), context)
    return outcome_response(outcome, 200)


@router.post(
    "/{lead_id}/qualify",
    summary="Qualify a lead: worth pursuing",
    response_model=LeadView,
    responses=RESPONSES,
    operation_id="qualify_lead",
)
async def qualify_lead(lead_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(QualifyLead(record_id=lead_id), context)
    return outcome_response(outcome, 200)


@router.post(
    "/{lead_id}/disqualify",
    summary="Disqualify a lead, saying why",
    response_model=LeadView,
    responses=RESPONSES,
    operation_id="disqualify_lead",
)
async def disqualify_lead(
    lead_id: UUID, body: schemas.Disqualify, sales: Sales, context: Changing
) -> Response:
    outcome = await sales.handle(DisqualifyLead(record_id=lead_id, reason=body.reason), context)
    return outcome_response(outcome, 200)


routes.add_record_routes(router, LEAD, application=sales_app, responses=RESPONSES)
