"""Dependencies of the contacts routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_contacts.api.schemas import CreateAccount, RegisterContact
from crm_contacts.application import ContactsApplication
from crm_shared.auth.policy import may_leave_unowned
from crm_shared.auth.principal import Principal
from crm_shared.http.problems import Problem


async def contacts_app(request: Request) -> ContactsApplication:
    app: ContactsApplication = request.app.state.use_cases
    return app


Contacts = Annotated[ContactsApplication, Depends(contacts_app)]


def department_for(principal: Principal, requested: str | None) -> str:
    department = requested or principal.primary_department
    if department is None:
        raise Problem(
            422,
            "validation_error",
            "The request is not valid",
            "invalid: body.department",
            [
                {
                    "field": "body.department",
                    "message": "a department is required",
                    "type": "missing",
                }
            ],
        )
    return department


def owner_for(principal: Principal, body: RegisterContact | CreateAccount) -> str | None:
    """Who owns a new record. Left out: the caller. ``null``: nobody, which only managers
    and admins may decide; anyone else is told so rather than silently made the owner."""
    if "owner" not in body.model_fields_set:
        return principal.subject
    if body.owner is None and not may_leave_unowned(principal):
        raise Problem(
            422,
            "validation_error",
            "The request is not valid",
            "invalid: body.owner",
            [
                {
                    "field": "body.owner",
                    "message": f"role {principal.role} may not create an unowned record: "
                    "leave owner out to own it yourself, or name the owner",
                    "type": "value_error",
                }
            ],
        )
    return body.owner
