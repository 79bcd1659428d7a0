"""Dependencies every route uses: the caller, and the metadata their events carry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm_shared.auth.principal import Principal, Role
from crm_shared.auth.tokens import InvalidToken, VerifiedTokens
from crm_shared.events import EventMetadata
from crm_shared.http.problems import Problem
from crm_shared.observability.context import correlation_id

bearer = HTTPBearer(auto_error=False, description="A JWT from `crm token`")

UNAUTHORIZED = Problem(
    401,
    "unauthorized",
    "Authentication required",
    "send a valid bearer token",
    headers={"WWW-Authenticate": "Bearer"},
)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UNAUTHORIZED
    tokens: VerifiedTokens = request.app.state.tokens
    try:
        return tokens.verify(credentials.credentials)
    except InvalidToken:
        raise UNAUTHORIZED from None


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Problem(403, "forbidden", "Not allowed", f"role {principal.role} may not do this")
        return principal

    return check


async def event_metadata(principal: CurrentPrincipal) -> EventMetadata:
    return EventMetadata(actor=principal.actor, correlation_id=correlation_id.get())


CurrentMetadata = Annotated[EventMetadata, Depends(event_metadata)]
