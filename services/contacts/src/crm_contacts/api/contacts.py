"""/v1/contacts: people."""

from __future__ import annotations

import asyncio
from uuid import UUID

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from crm_contacts.api import schemas
from crm_contacts.api.deps import Contacts, contacts_app
from crm_contacts.api.responses import RESPONSES
from crm_contacts.application import CONTACT
from crm_contacts.commands import ChangeContact, EraseContact, RegisterContact
from crm_contacts.views import ContactView
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.records import routes

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

routes.add_create_route(
    router,
    CONTACT,
    body=schemas.RegisterContact,
    command=RegisterContact,
    application=contacts_app,
    responses=RESPONSES,
    summary="Register a contact",
    operation_id="register_contact",
)
routes.add_change_route(
    router,
    CONTACT,
    body=schemas.UpdateContact,
    command=ChangeContact,
    application=contacts_app,
    responses=RESPONSES,
    summary="Change some of a contact's fields",
    operation_id="update_contact",
)


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
async def erase_contact(contact_id: UUID, contacts: Contacts, context: Changing) -> Response:
    outcome = await contacts.handle(EraseContact(record_id=contact_id), context)
    return outcome_response(outcome, 200)


routes.add_record_routes(router, CONTACT, application=contacts_app, responses=RESPONSES)
