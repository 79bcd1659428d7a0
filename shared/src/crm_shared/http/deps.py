"""Dependencies every route uses: the caller, and the metadata their events carry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from crm_shared.auth.api_keys import ApiKeyVerifier, looks_like_api_key
from crm_shared.auth.caller import Caller
from crm_shared.auth.policy import may_use_service
from crm_shared.auth.principal import Principal
from crm_shared.auth.tokens import InvalidToken, VerifiedTokens
from crm_shared.events import EventMetadata
from crm_shared.http.problems import Problem
from crm_shared.observability.context import correlation_id

bearer = HTTPBearer(auto_error=False, description="A JWT from `crm token`, or an API key")
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from `crm apikey create`"
)

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
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    principal = await _identify(request, credentials, api_key)
    if not may_use_service(principal, request.app.state.service_roles):
        raise Problem(
            403, "forbidden", "Not allowed", f"role {principal.role} may not use this service"
        )
    return principal


async def _identify(
    request: Request, credentials: HTTPAuthorizationCredentials | None, api_key: str | None
) -> Principal:
    if credentials is not None and credentials.scheme.lower() != "bearer":
        raise UNAUTHORIZED
    presented = api_key or (credentials.credentials if credentials else None)
    if presented is None:
        raise UNAUTHORIZED
    if api_key is not None or looks_like_api_key(presented):
        keys: ApiKeyVerifier | None = request.app.state.api_keys
        principal = await keys.verify(presented) if keys is not None else None
        if principal is None:
            raise UNAUTHORIZED
        return principal
    tokens: VerifiedTokens = request.app.state.tokens
    try:
        return tokens.verify(presented)
    except InvalidToken:
        raise UNAUTHORIZED from None


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def caller_of(principal: Principal) -> Caller:
    """The caller, with the metadata their events will carry (actor, correlation id)."""
    metadata = EventMetadata(actor=principal.actor, correlation_id=correlation_id.get())
    return Caller(principal, metadata)


async def current_caller(principal: CurrentPrincipal) -> Caller:
    return caller_of(principal)


CurrentCaller = Annotated[Caller, Depends(current_caller)]
