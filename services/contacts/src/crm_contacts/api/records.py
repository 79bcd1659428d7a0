"""Routes that contacts and accounts share: history, archive, restore, reassign,
interactions, consent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from crm_contacts.api.deps import Contacts
from crm_contacts.api.schemas import Archive, LogInteraction, Reassign, SetConsent
from crm_contacts.domain.record import CrmRecord
from crm_shared.http.conditional import (
    IdempotencyKey,
    IfMatch,
    expected_version,
    idempotency,
    outcome_response,
)
from crm_shared.http.deps import CurrentCaller, CurrentPrincipal
from crm_shared.values import ConsentChannel

RESPONSES: dict[int | str, dict[str, str]] = {
    400: {
        "description": "Malformed request: an If-Match that is not an ETag, a body that is not JSON"
    },
    401: {"description": "Missing or invalid token"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such record"},
    409: {"description": "The record is archived, or changed concurrently"},
    410: {"description": "The person was erased: the contact can no longer be changed"},
    412: {"description": "If-Match is not the current version"},
    413: {"description": "The body is too large"},
    422: {
        "description": "The body is not valid, or it links a record that does not exist or is "
        "out of the caller's sight (`unknown_reference`) or is archived (`archived_reference`)"
    },
}


def add_record_routes(
    router: APIRouter, cls: type[CrmRecord], noun: str, view: type[object]
) -> None:
    """Adds the shared routes under ``/{id}/...`` for one kind of record."""

    @router.get(
        "/{record_id}",
        summary=f"Read a {noun}",
        response_model=view,
        responses=RESPONSES,
        operation_id=f"get_{noun}",
    )
    async def read(record_id: UUID, contacts: Contacts, principal: CurrentPrincipal) -> Response:
        outcome = await asyncio.to_thread(contacts.read, cls, record_id, principal)
        return outcome_response(outcome, 200)

    @router.get(
        "/{record_id}/history",
        summary=f"Every change to a {noun}, oldest first: who, when, and each field's old and new value",
        responses=RESPONSES,
        operation_id=f"{noun}_history",
    )
    async def get_history(
        record_id: UUID,
        contacts: Contacts,
        principal: CurrentPrincipal,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after_version: Annotated[
            int, Query(ge=0, description="Continue after this version (the previous page's last)")
        ] = 0,
    ) -> dict[str, Any]:
        entries = await asyncio.to_thread(contacts.history, cls, record_id, principal)
        page = [e for e in entries if e["version"] > after_version][:limit]
        more = bool(page) and page[-1]["version"] < entries[-1]["version"]
        return {"items": page, "next_after_version": page[-1]["version"] if more else None}

    @router.post(
        "/{record_id}/archive",
        summary=f"Archive a {noun}",
        response_model=view,
        responses=RESPONSES,
        operation_id=f"archive_{noun}",
    )
    async def archive(
        record_id: UUID,
        request: Request,
        contacts: Contacts,
        caller: CurrentCaller,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        body: Annotated[Archive | None, Body()] = None,
    ) -> Response:
        key, fp = await idempotency(request, caller.principal, idempotency_key)
        outcome = await contacts.archive(
            cls,
            record_id,
            body.reason if body else None,
            caller,
            expected_version(if_match),
            key,
            fp,
        )
        return outcome_response(outcome, 200)

    @router.post(
        "/{record_id}/restore",
        summary=f"Restore an archived {noun}",
        response_model=view,
        responses=RESPONSES,
        operation_id=f"restore_{noun}",
    )
    async def restore(
        record_id: UUID,
        request: Request,
        contacts: Contacts,
        caller: CurrentCaller,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        key, fp = await idempotency(request, caller.principal, idempotency_key)
        outcome = await contacts.restore(
            cls, record_id, caller, expected_version(if_match), key, fp
        )
        return outcome_response(outcome, 200)

    @router.put(
        "/{record_id}/assignment",
        summary=f"Move a {noun} to another owner or department (managers and admins)",
        response_model=view,
        responses=RESPONSES,
        operation_id=f"reassign_{noun}",
    )
    async def reassign(
        record_id: UUID,
        body: Reassign,
        contacts: Contacts,
        caller: CurrentCaller,
        if_match: IfMatch = None,
    ) -> Response:
        outcome = await contacts.reassign(
            cls, record_id, body.owner, body.department, caller, expected_version(if_match)
        )
        return outcome_response(outcome, 200)

    @router.post(
        "/{record_id}/interactions",
        status_code=201,
        summary=f"Log an interaction with a {noun} (call, email, meeting, ...)",
        response_model=view,
        responses=RESPONSES,
        operation_id=f"log_{noun}_interaction",
    )
    async def log_interaction(
        record_id: UUID,
        body: LogInteraction,
        request: Request,
        contacts: Contacts,
        caller: CurrentCaller,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        key, fp = await idempotency(request, caller.principal, idempotency_key)
        outcome = await contacts.log_interaction(
            cls,
            record_id,
            channel=body.channel,
            direction=body.direction,
            subject=body.subject,
            notes=body.notes,
            occurred_at=body.occurred_at or datetime.now(UTC),
            by=body.by or caller.principal.subject,
            caller=caller,
            key=key,
            fp=fp,
        )
        return outcome_response(outcome, 201)

    @router.put(
        "/{record_id}/consents/{channel}",
        summary=f"Grant or withdraw a {noun}'s consent to be contacted on a channel",
        response_model=view,
        responses=RESPONSES,
        operation_id=f"set_{noun}_consent",
    )
    async def set_consent(
        record_id: UUID,
        channel: ConsentChannel,
        body: SetConsent,
        contacts: Contacts,
        caller: CurrentCaller,
        if_match: IfMatch = None,
    ) -> Response:
        outcome = await contacts.set_consent(
            cls,
            record_id,
            channel,
            body.status,
            body.source,
            body.at or datetime.now(UTC),
            caller,
            expected_version(if_match),
        )
        return outcome_response(outcome, 200)
