"""Dependencies of the contacts routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_contacts.application import ContactsApplication


async def contacts_app(request: Request) -> ContactsApplication:
    app: ContactsApplication = request.app.state.use_cases
    return app


Contacts = Annotated[ContactsApplication, Depends(contacts_app)]
