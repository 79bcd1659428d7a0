"""/v1/contacts: people."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_contacts.api.deps import Contacts, department_for, owner_for
from crm_contacts.api.records import RESPONSES, add_record_routes
from crm_contacts.api.schemas import RegisterContact, UpdateContact
from crm_contacts.domain.contact import Contact
from crm_contacts.views import ContactView
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.http.conditional import (
    IdempotencyKey,
    IfMatch,
    expected_version,
    idempotency,
    outcome_response,
)
from crm_shared.http.deps import CurrentCaller, CurrentPrincipal

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
LIST_FIELDS: dict[str, list[Any] | dict[str, Any]] = {
    "emails": [],
    "phones": [],
    "addresses": [],
    "tags": [],
    "custom_fields": {},
}


@router.post(
    "",
    status_code=201,
    summary="Register a contact",
    response_model=ContactView,
    responses=RESPONSES,
    operation_id="register_contact",
)
async def register_contact(
    body: RegisterContact,
    request: Request,
    contacts: Contacts,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    key, fp = await idempotency(request, caller.principal, idempotency_key)
    fields = {name: getattr(body, name) for name in type(body).model_fields}
    fields["owner"] = owner_for(caller.principal, body)
    fields["department"] = department_for(caller.principal, body.department)
    details = ContactRegistered.model_construct(**fields)
    outcome = await contacts.register_contact(details, caller, key, fp)
    return outcome_response(outcome, 201, location=f"/v1/contacts/{outcome.aggregate_id}")


@router.patch(
    "/{contact_id}",
    summary="Change some of a contact's fields",
    response_model=ContactView,
    responses=RESPONSES,
    operation_id="update_contact",
)
async def update_contact(
    contact_id: UUID,
    body: UpdateContact,
    contacts: Contacts,
    caller: CurrentCaller,
    if_match: IfMatch = None,
) -> Response:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name, empty in LIST_FIELDS.items():
        if name in changes and changes[name] is None:
            changes[name] = type(empty)()
    outcome = await contacts.update(
        Contact, contact_id, changes, caller, expected_version(if_match)
    )
    return outcome_response(outcome, 200)


@router.get(
    "/{contact_id}/export",
    summary="Everything the CRM holds about a person, as one JSON document (right of access)",
    responses=RESPONSES,
    operation_id="export_contact",
)
async def export_contact(
    contact_id: UUID, contacts: Contacts, principal: CurrentPrincipal
) -> Response:
    document = await asyncio.to_thread(contacts.export, contact_id, principal)
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="contact-{contact_id}.json"'},
    )


@router.post(
    "/{contact_id}/erase",
    summary="Erase a person (right to erasure): admins, and managers of their department",
    description=(
        "Deletes the person's data key and records `crm.contacts.contact.erased.v1`, which "
        "carries no personal data. Every personal field of every earlier event becomes "
        "unreadable (in the event store, on the topics, in backups); the contact then "
        "reads as erased everywhere and can no longer be changed."
    ),
    response_model=ContactView,
    responses=RESPONSES,
    operation_id="erase_contact",
)
async def erase_contact(
    contact_id: UUID,
    request: Request,
    contacts: Contacts,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    key, fp = await idempotency(request, caller.principal, idempotency_key)
    outcome = await contacts.erase(contact_id, caller, key, fp)
    return outcome_response(outcome, 200)


add_record_routes(router, Contact, "contact", ContactView)
