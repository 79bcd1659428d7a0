"""/v1/activities: tasks and appointments, with their reminders.

The record an activity is about (``related_to``) is taken by id and not looked up: its
kind of record may live in another service, and checking it exists (and is in the
caller's sight) needs that service's records as a read model of this one."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crm_sales.activity_commands import (
    ChangeActivity,
    CompleteActivity,
    ReopenActivity,
    ScheduleActivity,
)
from crm_sales.activity_view import ActivityView
from crm_sales.api import activity_schemas as schemas
from crm_sales.application import ACTIVITY, SalesApplication
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.records import routes

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    409: {
        "description": "The activity is done (reopen it first), archived, or changed concurrently"
    },
}


async def sales_app(request: Request) -> SalesApplication:
    app: SalesApplication = request.app.state.use_cases
    return app


Sales = Annotated[SalesApplication, Depends(sales_app)]

router = APIRouter(prefix="/v1/activities", tags=["activities"])

routes.add_create_route(
    router,
    ACTIVITY,
    body=schemas.ScheduleActivity,
    command=ScheduleActivity,
    application=sales_app,
    responses=RESPONSES,
    summary="Schedule a task or an appointment, with its reminders",
    operation_id="schedule_activity",
)
routes.add_change_route(
    router,
    ACTIVITY,
    body=schemas.ChangeActivity,
    command=ChangeActivity,
    application=sales_app,
    responses=RESPONSES,
    summary="Change some of an activity's fields (its reminders move with its time)",
    operation_id="update_activity",
)


@router.post(
    "/{activity_id}/complete",
    summary="Mark an activity done (done already: nothing changes)",
    response_model=ActivityView,
    responses=RESPONSES,
    operation_id="complete_activity",
)
async def complete_activity(activity_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(CompleteActivity(record_id=activity_id), context)
    return outcome_response(outcome, 200)


@router.post(
    "/{activity_id}/reopen",
    summary="Reopen a done activity, so it takes changes again",
    response_model=ActivityView,
    responses=RESPONSES,
    operation_id="reopen_activity",
)
async def reopen_activity(activity_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(ReopenActivity(record_id=activity_id), context)
    return outcome_response(outcome, 200)


routes.add_record_routes(router, ACTIVITY, application=sales_app, responses=RESPONSES)
