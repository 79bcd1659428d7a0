"""The HTTP side of a command: ``If-Match``, ``Idempotency-Key`` and the caller, turned
into one ``CommandContext`` by one dependency, so that routes only build the command.

Every command on an existing record takes both headers; a command creating one takes
``Idempotency-Key`` (there is no version yet to match)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from crm_shared.commands import CommandContext
from crm_shared.http.conditional import IdempotencyKey, IfMatch, expected_version, idempotency
from crm_shared.http.deps import CurrentCaller


async def creating(
    request: Request, caller: CurrentCaller, idempotency_key: IdempotencyKey = None
) -> CommandContext:
    key, fingerprint = await idempotency(request, caller.principal, idempotency_key)
    return CommandContext(caller, idempotency_key=key, fingerprint=fingerprint)


async def changing(
    context: Annotated[CommandContext, Depends(creating)], if_match: IfMatch = None
) -> CommandContext:
    return replace(context, expected_version=expected_version(if_match))


Creating = Annotated[CommandContext, Depends(creating)]
Changing = Annotated[CommandContext, Depends(changing)]
