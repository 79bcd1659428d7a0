"""/v1/accounts: companies."""

from __future__ import annotations

from fastapi import APIRouter

from crm_contacts.api import schemas
from crm_contacts.api.deps import contacts_app
from crm_contacts.api.responses import RESPONSES
from crm_contacts.application import ACCOUNT
from crm_contacts.commands import ChangeAccount, CreateAccount
from crm_shared.records import routes

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

routes.add_create_route(
    router,
    ACCOUNT,
    body=schemas.CreateAccount,
    command=CreateAccount,
    application=contacts_app,
    responses=RESPONSES,
    summary="Create an account (a company)",
    operation_id="create_account",
)
routes.add_change_route(
    router,
    ACCOUNT,
    body=schemas.UpdateAccount,
    command=ChangeAccount,
    application=contacts_app,
    responses=RESPONSES,
    summary="Change some of an account's fields",
    operation_id="update_account",
)
routes.add_record_routes(router, ACCOUNT, application=contacts_app, responses=RESPONSES)
