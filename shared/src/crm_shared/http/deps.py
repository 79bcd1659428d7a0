"""Dependencies every route uses: the caller, and the metadata their events carry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import State

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
    token = credentials.credentials if credentials is not None else None
    return await principal_of(request.app.state, token, api_key)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, read as FastAPI's
    ``HTTPBearer`` reads it (anything else is no bearer token)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def principal_of(state: State, token: str | None, api_key: str | None) -> Principal:
    """Who presents this bearer token or API key, if they may use this service (else a
    401 or 403 problem)."""
    principal = await _identify(state, token, api_key)
    if not may_use_service(principal, state.service_roles):
        raise Problem(
            403, "forbidden", "Not allowed", f"role {principal.role} may not use this service"
        )
    return principal


async def _identify(state: State, token: str | None, api_key: str | None) -> Principal:
    presented = api_key or token
    if presented is None:
        raise UNAUTHORIZED
    if api_key is not None or looks_like_api_key(presented):
        keys: ApiKeyVerifier | None = state.api_keys
        principal = await keys.verify(presented) if keys is not None else None
        if principal is None:
            raise UNAUTHORIZED
        return principal
    tokens: VerifiedTokens = state.tokens
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
