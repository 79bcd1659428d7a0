"""/v1/assignment-rules, and assigning a lead by them (``POST /v1/leads/{id}/assign``).

(No ``from __future__ import annotations``: FastAPI reads the annotations when the routes
are defined.)"""

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from crm_sales.api.assignment_schemas import PutRep, PutTerritories
from crm_sales.assignment.application import LeadAssignment
from crm_sales.assignment.commands import AssignLead, SetRep, SetTerritories
from crm_sales.assignment.views import AssignmentRulesView
from crm_sales.views import LeadView
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import etag, outcome_response
from crm_shared.records import routes

RULES_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON, or If-Match is not an ETag"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "Only managers and admins set the assignment rules"},
    409: {"description": "Changed concurrently: retry"},
    412: {"description": "If-Match is not the rules' current version"},
    422: {"description": "Not a team, or not a country code (the error names the field)"},
}
ASSIGN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    403: {"description": "Only managers and admins assign leads"},
    409: {
        "description": "Nobody is eligible (`no_eligible_rep`, with the reason), or the lead "
        "is converted: nothing was recorded"
    },
    410: {"description": "The lead's person was erased"},
}

User = Annotated[str, Path(min_length=1, max_length=128, description="The rep (user id)")]


async def lead_assignment(request: Request) -> LeadAssignment:
    found: LeadAssignment = request.app.state.use_cases.assignment
    return found


Assignment = Annotated[LeadAssignment, Depends(lead_assignment)]

rules = APIRouter(prefix="/v1/assignment-rules", tags=["assignment"])
leads = APIRouter(prefix="/v1/leads", tags=["leads"])


@rules.get(
    "",
    summary="The assignment rules: territories, reps, and whose turn it is per team",
    response_model=AssignmentRulesView,
    responses=RULES_RESPONSES,
    operation_id="get_assignment_rules",
)
async def get_assignment_rules(assignment: Assignment) -> Response:
    view = await asyncio.to_thread(assignment.rules)
    return Response(
        view.model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag(view.version)},
    )


@rules.put(
    "/territories",
    summary="Set the territories, in order of precedence (managers and admins)",
    description=(
        "Replaces every territory. A lead that names its team goes to that team; any other "
        "goes to the team of the first territory listing its country or its region (one "
        "listing neither covers every lead). Within the team, the active reps take turns "
        "in roster order (round-robin). Recorded as "
        "`crm.sales.assignment_rules.territories_set.v1`."
    ),
    response_model=AssignmentRulesView,
    responses=RULES_RESPONSES,
    operation_id="set_assignment_territories",
)
async def set_territories(
    body: PutTerritories, assignment: Assignment, context: Changing
) -> Response:
    command = SetTerritories(territories=tuple(rule.territory() for rule in body.territories))
    return outcome_response(await assignment.handle(command, context), 200)


@rules.put(
    "/reps/{user}",
    summary="Put a rep on the roster, or change their team or whether they are active",
    description=(
        "A new rep takes turns last in their team; one changed keeps their place. An "
        "inactive rep is skipped until active again. Recorded as "
        "`crm.sales.assignment_rules.rep_set.v1`."
    ),
    response_model=AssignmentRulesView,
    responses=RULES_RESPONSES,
    operation_id="set_assignment_rep",
)
async def set_rep(user: User, body: PutRep, assignment: Assignment, context: Changing) -> Response:
    command = SetRep(user=user, team=body.team, active=body.active)
    return outcome_response(await assignment.handle(command, context), 200)


@leads.post(
    "/{lead_id}/assign",
    summary="Assign a lead by the rules: its team's next active rep (managers and admins)",
    description=(
        "The lead's own team, or else the first territory covering its country or region, "
        "picks the team; the team's next active rep in turn becomes the owner. Records "
        "`crm.sales.lead.assigned.v1` (owner, team, and the rule) and moves the team's turn "
        "in the same transaction: concurrent assignments never give the same turn twice. "
        "Nobody eligible: 409 `no_eligible_rep` with the reason, nothing recorded. A "
        "manager's own choice is `PUT /v1/leads/{lead_id}/assignment`."
    ),
    response_model=LeadView,
    responses=ASSIGN_RESPONSES,
    operation_id="assign_lead",
)
async def assign_lead(lead_id: UUID, assignment: Assignment, context: Changing) -> Response:
    return outcome_response(await assignment.handle(AssignLead(lead_id=lead_id), context), 200)
