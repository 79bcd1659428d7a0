"""The routes of CRM records: creating one and changing its fields (each service names
the request bodies and commands), and the routes every record has under ``/{record_id}``:
read, history, archive, restore, reassign, log an interaction, set a consent. Each parses
its request into a command and hands it to the service's ``RecordsApplication``.

(No ``from __future__ import annotations`` here: FastAPI reads these routes' annotations
when they are defined, and the application's dependency is a local of each call.)"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from crm_shared.commands import CommandContext
from crm_shared.http.command_lane import LaneCommand, serve_in_lane
from crm_shared.http.commands import Changing, Creating
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.records import commands, schemas
from crm_shared.records.application import RecordsApplication
from crm_shared.records.views import RecordKind
from crm_shared.values import ConsentChannel

Responses = dict[int | str, dict[str, Any]]
Application = Callable[[Request], Awaitable[RecordsApplication]]

# What every record route may answer besides its success (a service may name its own).
RESPONSES: Responses = {
    400: {
        "description": "Malformed request: an If-Match that is not an ETag, a body that is not JSON"
    },
    401: {"description": "Missing or invalid token"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such record, or one out of the caller's sight"},
    409: {"description": "The record is archived, or changed concurrently"},
    412: {"description": "If-Match is not the current version"},
    413: {"description": "The body is too large"},
    422: {"description": "The body is not valid, or it names a record out of the caller's sight"},
}


async def use_cases(request: Request) -> RecordsApplication:
    """The service's ``RecordsApplication``, as ``event_sourced_app`` keeps it."""
    records: RecordsApplication = request.app.state.use_cases
    return records


def add_create_route(
    router: APIRouter,
    kind: RecordKind[Any],
    *,
    body: type[BaseModel],
    command: Callable[..., commands.CreateRecord[Any]] | None = None,
    application: Application = use_cases,
    responses: Responses = RESPONSES,
    summary: str | None = None,
    operation_id: str | None = None,
) -> None:
    """``POST`` to the router's prefix creates a record from ``body``: its ``owner`` (left
    out: the caller; null: nobody) and ``department`` (left out: the caller's), and the
    rest as the new record's values. Without a ``command`` of the service's own, it runs
    the generic ``CreateRecord``."""
    noun = kind.aggregate.noun()
    command = command or partial(commands.CreateRecord, record_type=kind.aggregate)

    async def run(
        request: Request, given: BaseModel, context: CommandContext, _: dict[str, UUID]
    ) -> Response:
        records = await application(request)
        values = {name: getattr(given, name) for name in type(given).model_fields}
        owner = values.pop("owner", None)
        if "owner" not in given.model_fields_set:
            owner = context.principal.id
        department = values.pop("department", None)
        outcome = await records.handle(
            command(values=values, owner=owner, department=department), context
        )
        return outcome_response(outcome, 201, location=f"{router.prefix}/{outcome.aggregate_id}")

    @router.post(
        "",
        status_code=201,
        summary=summary or f"Create a {noun}",
        response_model=kind.view,
        responses=responses,
        operation_id=operation_id or f"create_{noun}",
    )
    async def create(
        payload: body,  # type: ignore[valid-type]
        request: Request,
        context: Creating,
    ) -> Response:
        return await run(request, payload, context, {})

    serve_in_lane(create, LaneCommand(body, changing=False, run=run))


def add_change_route(
    router: APIRouter,
    kind: RecordKind[Any],
    *,
    body: type[BaseModel],
    command: Callable[..., commands.ChangeRecord[Any]] | None = None,
    application: Application = use_cases,
    responses: Responses = RESPONSES,
    summary: str | None = None,
    operation_id: str | None = None,
) -> None:
    """``PATCH /{<noun>_id}`` changes the fields ``body`` names (null clears one), with the
    generic ``ChangeRecord`` unless the service names a ``command`` of its own."""
    noun = kind.aggregate.noun()
    id_name = f"{noun}_id"
    command = command or partial(commands.ChangeRecord, record_type=kind.aggregate)

    async def run(
        request: Request, given: BaseModel, context: CommandContext, ids: dict[str, UUID]
    ) -> Response:
        records = await application(request)
        changes = {name: getattr(given, name) for name in given.model_fields_set}
        outcome = await records.handle(command(record_id=ids[id_name], changes=changes), context)
        return outcome_response(outcome, 200)

    @router.patch(
        f"/{{{id_name}}}",
        summary=summary or f"Change some of a {noun}'s fields",
        response_model=kind.view,
        responses=responses,
        operation_id=operation_id or f"update_{noun}",
    )
    async def change(
        record_id: Annotated[UUID, Path(alias=id_name)],
        payload: body,  # type: ignore[valid-type]
        request: Request,
        context: Changing,
    ) -> Response:
        return await run(request, payload, context, {id_name: record_id})

    serve_in_lane(change, LaneCommand(body, changing=True, run=run))


def add_record_routes(
    router: APIRouter,
    kind: RecordKind[Any],
    *,
    application: Application = use_cases,
    responses: Responses = RESPONSES,
    reassign_body: type[schemas.Reassign] = schemas.Reassign,
) -> None:
    """Adds the routes of one kind of record (``application`` finds the service's): reading
    it and its history, and each command its events offer. A kind whose reassignment
    carries more than owner and department (a lead's team) names its ``reassign_body``."""
    events = kind.aggregate.events
    _add_reading(router, kind, application, responses)
    if events.archiving:
        _add_archiving(router, kind, application, responses)
    if events.reassigned is not None:
        _add_reassigning(router, kind, application, responses, reassign_body)
    if events.interaction_logged is not None:
        _add_interactions(router, kind, application, responses)
    if events.consents:
        _add_consents(router, kind, application, responses)


def _add_reading(
    router: APIRouter, kind: RecordKind[Any], application: Application, responses: Responses
) -> None:
    """Read a record and its history."""
    cls, noun, view = kind.aggregate, kind.aggregate.noun(), kind.view
    Records = Annotated[RecordsApplication, Depends(application)]

    @router.get(
        "/{record_id}",
        summary=f"Read a {noun}",
        response_model=view,
        responses=responses,
        operation_id=f"get_{noun}",
    )
    async def read(record_id: UUID, records: Records, principal: CurrentPrincipal) -> Response:
        outcome = await asyncio.to_thread(records.read, cls, record_id, principal)
        return outcome_response(outcome, 200)

    @router.get(
        "/{record_id}/history",
        summary=f"Every change to a {noun}, oldest first: who, when, and each field's old and new value",
        responses=responses,
        operation_id=f"{noun}_history",
    )
    async def get_history(
        record_id: UUID,
        records: Records,
        principal: CurrentPrincipal,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after_version: Annotated[
            int, Query(ge=0, description="Continue after this version (the previous page's last)")
        ] = 0,
    ) -> dict[str, Any]:
        entries = await asyncio.to_thread(records.history, cls, record_id, principal)
        page = [e for e in entries if e["version"] > after_version][:limit]
        more = bool(page) and page[-1]["version"] < entries[-1]["version"]
        return {"items": page, "next_after_version": page[-1]["version"] if more else None}


def _add_archiving(
    router: APIRouter, kind: RecordKind[Any], application: Application, responses: Responses
) -> None:
    """Archive a record, and restore it."""
    cls, noun, view = kind.aggregate, kind.aggregate.noun(), kind.view
    Records = Annotated[RecordsApplication, Depends(application)]

    @router.post(
        "/{record_id}/archive",
        summary=f"Archive a {noun}",
        response_model=view,
        responses=responses,
        operation_id=f"archive_{noun}",
    )
    async def archive(
        record_id: UUID,
        records: Records,
        context: Changing,
        body: Annotated[schemas.Archive | None, Body()] = None,
    ) -> Response:
        command = commands.ArchiveRecord(
            record_type=cls, record_id=record_id, reason=body.reason if body else None
        )
        return outcome_response(await records.handle(command, context), 200)

    @router.post(
        "/{record_id}/restore",
        summary=f"Restore an archived {noun}",
        response_model=view,
        responses=responses,
        operation_id=f"restore_{noun}",
    )
    async def restore(record_id: UUID, records: Records, context: Changing) -> Response:
        command = commands.RestoreRecord(record_type=cls, record_id=record_id)
        return outcome_response(await records.handle(command, context), 200)


def _add_reassigning(
    router: APIRouter,
    kind: RecordKind[Any],
    application: Application,
    responses: Responses,
    body_type: type[schemas.Reassign] = schemas.Reassign,
) -> None:
    """Move a record to another owner or department."""
    cls, noun, view = kind.aggregate, kind.aggregate.noun(), kind.view
    Records = Annotated[RecordsApplication, Depends(application)]

    @router.put(
        "/{record_id}/assignment",
        summary=f"Move a {noun} to another owner or department (managers and admins)",
        response_model=view,
        responses=responses,
        operation_id=f"reassign_{noun}",
    )
    async def reassign(
        record_id: UUID,
        body: body_type,  # type: ignore[valid-type]
        records: Records,
        context: Changing,
    ) -> Response:
        given: schemas.Reassign = body
        command = commands.ReassignRecord(
            record_type=cls,
            record_id=record_id,
            owner=given.owner,
            department=given.department,
            details=given.model_dump(exclude={"owner", "department"}, exclude_none=True),
        )
        return outcome_response(await records.handle(command, context), 200)


def _add_interactions(
    router: APIRouter, kind: RecordKind[Any], application: Application, responses: Responses
) -> None:
    """Log an interaction with a record."""
    cls, noun, view = kind.aggregate, kind.aggregate.noun(), kind.view
    Records = Annotated[RecordsApplication, Depends(application)]

    @router.post(
        "/{record_id}/interactions",
        status_code=201,
        summary=f"Log an interaction with a {noun} (call, email, meeting, ...)",
        response_model=view,
        responses=responses,
        operation_id=f"log_{noun}_interaction",
    )
    async def log_interaction(
        record_id: UUID, body: schemas.LogInteraction, records: Records, context: Changing
    ) -> Response:
        command = commands.LogInteraction(
            record_type=cls,
            record_id=record_id,
            channel=body.channel,
            direction=body.direction,
            subject=body.subject,
            notes=body.notes,
            occurred_at=body.occurred_at or datetime.now(UTC),
            by=body.by or context.principal.id,
        )
        return outcome_response(await records.handle(command, context), 201)


def _add_consents(
    router: APIRouter, kind: RecordKind[Any], application: Application, responses: Responses
) -> None:
    """Grant or withdraw a record's consent per channel."""
    cls, noun, view = kind.aggregate, kind.aggregate.noun(), kind.view
    Records = Annotated[RecordsApplication, Depends(application)]

    @router.put(
        "/{record_id}/consents/{channel}",
        summary=f"Grant or withdraw a {noun}'s consent to be contacted on a channel",
        response_model=view,
        responses=responses,
        operation_id=f"set_{noun}_consent",
    )
    async def set_consent(
        record_id: UUID,
        channel: ConsentChannel,
        body: schemas.SetConsent,
        records: Records,
        context: Changing,
    ) -> Response:
        command = commands.SetConsent(
            record_type=cls,
            record_id=record_id,
            channel=channel,
            status=body.status,
            source=body.source,
            at=body.at or datetime.now(UTC),
        )
        return outcome_response(await records.handle(command, context), 200)
