"""/v1/leads: people who may become customers."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crm_sales.api import assignment_schemas, conversion_schemas, schemas
from crm_sales.application import LEAD, SalesApplication
from crm_sales.commands import (
    ChangeLead,
    DisqualifyLead,
    EraseLeadOnRequest,
    QualifyLead,
    RegisterLead,
    StartWorkingLead,
)
from crm_sales.conversion.contacts_client import (
    ContactsClient,
    ContactsRefused,
    ContactsUnavailable,
)
from crm_sales.conversion.use_case import LeadConversion
from crm_sales.domain.lead import Lead
from crm_sales.views import LeadView
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.problems import Problem
from crm_shared.records import routes

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    409: {"description": "The lead's status refuses this (converted, or disqualified)"},
    410: {"description": "The lead's person was erased"},
}
CONVERT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **RESPONSES,
    409: {"description": "The lead is disqualified: qualify it first"},
    502: {"description": "The contacts service answered what it should not have"},
    503: {"description": "The contacts service is unavailable: nothing was converted; retry"},
}
# What the contacts service's refusal may be told to the caller as it is; anything else
# is the sales service's problem with it, not the caller's.
FORWARDED = frozenset({403, 404, 409, 410, 422})


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


@router.post(
    "/{lead_id}/convert",
    summary="Convert a lead: its contact (and account) in contacts, its opportunity in sales",
    description=(
        "Creates the contact (and, when `create_account` and the lead names a company, "
        "the account) in the contacts service, acting for the caller with a short-lived "
        "credential the sales service signs (the caller's id and role, the lead's "
        "department, create-only); opens the opportunity when one is given; then records "
        "`crm.sales.lead.converted.v1` with the three ids. Exactly once: a retry, or a "
        "conversion interrupted between its steps and asked again, finishes the work "
        "without creating anything twice, and a converted lead answers its links again "
        "(200). A disqualified lead is refused (409). When the contacts service is "
        "unavailable the answer is 503 and nothing is created (the conversion's plan, "
        "`crm.sales.lead.conversion_started.v1`, is kept for the next attempt)."
    ),
    response_model=LeadView,
    responses=CONVERT_RESPONSES,
    operation_id="convert_lead",
)
async def convert_lead(
    lead_id: UUID,
    request: Request,
    sales: Sales,
    context: Changing,
    body: conversion_schemas.Convert | None = None,
) -> Response:
    conversion = LeadConversion(sales, ContactsClient(request.app.state.settings))
    try:
        outcome = await conversion.convert(
            lead_id, (body or conversion_schemas.Convert()).conversion(), context
        )
    except ContactsUnavailable as error:
        raise Problem(
            503,
            "contacts_unavailable",
            "The contacts service is unavailable",
            f"nothing was converted; retry ({error})",
            headers={"Retry-After": "5"},
        ) from error
    except ContactsRefused as refused:
        status = refused.status if refused.status in FORWARDED else 502
        raise Problem(
            status, refused.code, "The contacts service refused", refused.detail
        ) from None
    return outcome_response(outcome, 200)


@router.get(
    "/{lead_id}/export",
    summary="Everything the sales service holds about a lead's person, as one JSON document"
    " (right of access)",
    responses=RESPONSES,
    operation_id="export_lead",
)
async def export_lead(lead_id: UUID, sales: Sales, principal: CurrentPrincipal) -> Response:
    document = await asyncio.to_thread(sales.export_of, Lead, lead_id, principal)
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="lead-{lead_id}.json"'},
    )


@router.post(
    "/{lead_id}/erase",
    summary="Erase a lead's person (right to erasure): admins, and managers of its department",
    description=(
        "Deletes the lead's data key and records `crm.sales.lead.erased.v1`, which carries no "
        "personal data: every personal field of every earlier event of the lead becomes "
        "unreadable, in the event store and on the topics. A converted lead's person is a "
        "contact now: erase the contact (409 `erase_the_contact`), which erases the lead too."
    ),
    response_model=LeadView,
    responses={**RESPONSES, 409: {"description": "The lead was converted: erase the contact"}},
    operation_id="erase_lead",
)
async def erase_lead(lead_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(EraseLeadOnRequest(record_id=lead_id), context)
    return outcome_response(outcome, 200)


routes.add_record_routes(
    router,
    LEAD,
    application=sales_app,
    responses=RESPONSES,
    reassign_body=assignment_schemas.ReassignLead,  # a manager may set the team too
)
