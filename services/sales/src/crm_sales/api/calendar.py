"""/v1/calendar: each user's activities as an iCalendar feed calendar programs subscribe
to, opened by a per-user token in the query string (``crm_sales.calendar_tokens``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from crm_sales import calendar_tokens
from crm_sales.activity_list.queries import activities_of
from crm_sales.application import SalesApplication
from crm_sales.documents import reminders
from crm_sales.documents.calendar import CALENDAR_MEDIA_TYPE, calendar_feed
from crm_sales.domain.activity import Activity, planned
from crm_shared.catalog.sales.activities import ActivityScheduled
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.problems import Problem
from crm_shared.service_app import ReadModelConnection

router = APIRouter(prefix="/v1/calendar", tags=["calendar"])

# How far back a feed reaches, and how much it holds: a subscribed program fetches it
# every 15 minutes, and what is long past is in the CRM, not needed on a phone.
FEED_REACHES_BACK = timedelta(days=30)
FEED_HOLDS = 500

UserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00/]+$")]

NOT_FOUND = Problem(404, "calendar_not_found", "No such calendar")


class FeedToken(BaseModel):
    token: str
    url: str


@router.post(
    "/{user}/token",
    summary="Issue a user's calendar feed token (the previous one stops working)",
    description=(
        "For the user themselves, or an admin: the token opens the user's calendar, "
        "which a manager has no need to hold (they read the activities through the API). "
        "Calendar programs cannot "
        "send an Authorization header, so the feed URL carries this token: keep it like "
        "a password. Issuing a new one revokes the old. Only its hash is stored."
    ),
    response_model=FeedToken,
    status_code=201,
    responses={
        401: {"description": "Missing or invalid token"},
        403: {"description": "Neither that user nor an admin"},
        422: {"description": "Invalid user id (the error names the parameter)"},
    },
    operation_id="issue_calendar_token",
)
async def issue_token(
    user: UserId, principal: CurrentPrincipal, conn: ReadModelConnection
) -> FeedToken:
    if not calendar_tokens.may_issue(principal, user):
        raise Problem(403, "forbidden", "Forbidden", "only the user or an admin issues it")
    token = await calendar_tokens.issue(conn, user, principal.actor)
    await conn.commit()
    return FeedToken(token=token, url=f"/v1/calendar/{user}.ics?token={token}")


@router.get(
    "/{user}.ics",
    summary="A user's activities as an iCalendar feed (RFC 5545), opened by their token",
    description=(
        "Appointments as events, tasks as to-dos, reminders as alarms, from 30 days ago "
        "on. No Authorization header: the `token` from `POST /v1/calendar/{user}/token`. "
        "An unknown user, a wrong token and a replaced one all answer the same 404. "
        "Eventually consistent: an activity scheduled a moment ago may not show yet."
    ),
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The feed"},
        404: {"description": "No such calendar (or not with this token)"},
        422: {"description": "Invalid parameters (the error names the parameter)"},
    },
    operation_id="calendar_feed",
)
async def feed(
    user: UserId,
    request: Request,
    conn: ReadModelConnection,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if not await calendar_tokens.opens(conn, user, token):
        raise NOT_FOUND
    since = datetime.now(UTC) - FEED_REACHES_BACK
    ids = await activities_of(conn, user, since, FEED_HOLDS)
    sales: SalesApplication = request.app.state.use_cases
    activities = await asyncio.to_thread(_as_planned, sales, ids)
    return Response(calendar_feed(user, activities), media_type=CALENDAR_MEDIA_TYPE)


def _as_planned(sales: SalesApplication, ids: list[UUID]) -> list[reminders.Activity]:
    """The activities themselves, from their events: their text opened with the person's
    key while it exists (the list keeps none), and as the record says it now."""
    planned_activities = []
    for activity_id in ids:
        record = sales.load(Activity, activity_id)
        if record.archived or record.assignee is None:
            continue
        values = {name: getattr(record, name) for name in ActivityScheduled.model_fields}
        activity = planned(record.id, values, record.last_modified)
        planned_activities.append(
            replace(
                activity,
                done_at=record.completed_at if record.done else None,
                description=record.notes or "",
                location=record.location or "",
                sequence=record.version - 1,
            )
        )
    return planned_activities
