"""The contacts service, as conversion needs it: create an account, create a contact, over
HTTP, with a credential the sales service signs for the user who converts.

The credential (``credential_for``) is a bearer token whose claims are:

- ``sub`` and ``role``: the converting user's, so that the contacts service's policy (the
  one policy, ``crm_shared.auth.policy``) decides as it would for the user, and the new
  records' events name the user as their actor;
- ``department``: the lead's department only (the user may change the lead, so it is one
  of theirs, or they are an admin);
- ``permissions``: ``records:create-only`` (``CREATE_ONLY``), never ``pii:read``: the token
  creates and reads, and changes, reassigns and erases nothing;
- ``act``: ``{"sub": "service:sales"}``, who acted for the user;
- a lifetime of a minute: it is signed for one conversion and never leaves the service.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from crm_shared.auth.policy import CREATE_ONLY
from crm_shared.auth.principal import Principal
from crm_shared.auth.tokens import issue_token
from crm_shared.settings import Settings

CREDENTIAL_SECONDS = 60
ACTOR = "service:sales"


class ContactsUnavailable(Exception):
    """The contacts service could not be reached, or failed: nothing was converted."""


class ContactsRefused(Exception):
    """The contacts service refused the request (its problem's status, code and detail)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def credential_for(settings: Settings, user: Principal, department: str) -> dict[str, str]:
    token = issue_token(
        settings,
        principal_id=user.id,
        role=user.role,
        departments=[department],
        permissions=[CREATE_ONLY],
        ttl_seconds=CREDENTIAL_SECONDS,
        actor=ACTOR,
    )
    return {"Authorization": f"Bearer {token}"}


class ContactsClient:
    """``crm_sales.conversion.use_case.Contacts`` over HTTP."""

    def __init__(self, settings: Settings, *, timeout_seconds: float = 10.0) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds

    async def create(
        self,
        collection: str,
        body: dict[str, Any],
        *,
        acting_for: Principal,
        department: str,
        idempotency_key: str,
    ) -> UUID:
        """Creates a record in ``/v1/<collection>`` (or finds the one a retry created)."""
        try:
            base = self.settings.url_of("contacts")
        except LookupError as error:
            raise ContactsUnavailable(str(error)) from error
        headers = credential_for(self.settings, acting_for, department)
        headers["Idempotency-Key"] = idempotency_key
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as http:
                response = await http.post(f"{base}/v1/{collection}", json=body, headers=headers)
        except httpx.HTTPError as error:
            raise ContactsUnavailable(f"contacts: {type(error).__name__}") from error
        if response.status_code >= 500:
            raise ContactsUnavailable(f"contacts answered {response.status_code}")
        if response.status_code != 201:
            problem = _problem(response)
            raise ContactsRefused(
                response.status_code,
                str(problem.get("code", "contacts_refused")),
                f"the contacts service refused the {collection[:-1]}: "
                f"{problem.get('detail') or problem.get('title') or response.status_code}",
            )
        return UUID(response.json()["id"])


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
