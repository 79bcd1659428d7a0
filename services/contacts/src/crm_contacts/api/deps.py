"""Dependencies of the contacts routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_contacts.application import ContactsApplication
from crm_shared.auth.principal import Principal
from crm_shared.http.problems import Problem


async def contacts_app(request: Request) -> ContactsApplication:
    app: ContactsApplication = request.app.state.contacts
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
