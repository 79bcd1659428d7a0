"""The HTTP side of a command: ``If-Match``, ``Idempotency-Key`` and the caller, turned
into one ``CommandContext`` by one dependency, so that routes only build the command.

Every command on an existing record takes both headers; a command creating one takes
``Idempotency-Key`` (there is no version yet to match).

Each is one dependency over the principal, not a chain: FastAPI spends ~10 µs resolving
each dependency of a request, and these run on every command."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_shared.commands import CommandContext
from crm_shared.http.conditional import IdempotencyKey, IfMatch, expected_version, idempotency
from crm_shared.http.deps import CurrentPrincipal, caller_of


async def creating(
    request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None
) -> CommandContext:
    key, fingerprint = await idempotency(request, principal, idempotency_key)
    return CommandContext(caller_of(principal), idempotency_key=key, fingerprint=fingerprint)


async def changing(
    request: Request,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,  # before the key, as the OpenAPI document lists them
    idempotency_key: IdempotencyKey = None,
) -> CommandContext:
    version = expected_version(if_match)
    key, fingerprint = await idempotency(request, principal, idempotency_key)
    return CommandContext(
        caller_of(principal),
        idempotency_key=key,
        fingerprint=fingerprint,
        expected_version=version,
    )


Creating = Annotated[CommandContext, Depends(creating)]
Changing = Annotated[CommandContext, Depends(changing)]
