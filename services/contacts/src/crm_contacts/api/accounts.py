"""/v1/accounts: companies."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_contacts.api.deps import Contacts, department_for, owner_for
from crm_contacts.api.records import RESPONSES, add_record_routes
from crm_contacts.api.schemas import CreateAccount, UpdateAccount
from crm_contacts.domain.account import Account
from crm_contacts.views import AccountView
from crm_shared.catalog.contacts import AccountCreated
from crm_shared.http.conditional import (
    IdempotencyKey,
    IfMatch,
    expected_version,
    idempotency,
    outcome_response,
)
from crm_shared.http.deps import CurrentCaller
from crm_shared.http.problems import Problem

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.post(
    "",
    status_code=201,
    summary="Create an account (a company)",
    response_model=AccountView,
    responses=RESPONSES,
    operation_id="create_account",
)
async def create_account(
    body: CreateAccount,
    request: Request,
    contacts: Contacts,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    key, fp = await idempotency(request, caller.principal, idempotency_key)
    fields = {name: getattr(body, name) for name in type(body).model_fields}
    fields["owner"] = owner_for(caller.principal, body)
    fields["department"] = department_for(caller.principal, body.department)
    outcome = await contacts.create_account(
        AccountCreated.model_construct(**fields), caller, key, fp
    )
    return outcome_response(outcome, 201, location=f"/v1/accounts/{outcome.aggregate_id}")


@router.patch(
    "/{account_id}",
    summary="Change some of an account's fields",
    response_model=AccountView,
    responses=RESPONSES,
    operation_id="update_account",
)
async def update_account(
    account_id: UUID,
    body: UpdateAccount,
    contacts: Contacts,
    caller: CurrentCaller,
    if_match: IfMatch = None,
) -> Response:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "name" in changes and changes["name"] is None:
        raise Problem(
            422,
            "validation_error",
            "The request is not valid",
            "invalid: body.name",
            [{"field": "body.name", "message": "an account needs a name", "type": "missing"}],
        )
    outcome = await contacts.update(
        Account, account_id, changes, caller, expected_version(if_match)
    )
    return outcome_response(outcome, 200)


add_record_routes(router, Account, "account", AccountView)
