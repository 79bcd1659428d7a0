"""The key endpoint every service that seals personal data serves: ``/v1/data-keys``.

Our own consumers and outside systems granted ``pii:read`` fetch people's data keys here
to open the sealed fields of the events they read. Every fetch is recorded (who, when,
which people, the correlation id) in the same statement that reads the keys.
"""

from __future__ import annotations

import base64
import logging
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from crm_shared.auth.policy import PII_READ, may_read_data_keys
from crm_shared.auth.principal import Principal
from crm_shared.http.deps import authenticate
from crm_shared.http.problems import Problem
from crm_shared.observability.context import correlation_id
from crm_shared.privacy.cipher import Erased
from crm_shared.privacy.key_client import MAX_DATA_SUBJECTS
from crm_shared.privacy.keyring import DataKeyring

log = logging.getLogger(__name__)


class DataKeyEndpoint:
    """What the routes need: the service's keyring and connections to read it."""

    def __init__(self, keyring: DataKeyring, database_url: str, cache_seconds: float) -> None:
        self.keyring = keyring
        self.cache_seconds = cache_seconds
        # The audit row commits without waiting for the disk: the 360 fetches keys for
        # every batch with a new person in it, and an fsync per fetch halved the write
        # rate at one client. A later durable commit (the next command's) flushes it; a
        # database crash can lose the last fraction of a second of audit rows.
        self.pool = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"options": "-c synchronous_commit=off"},
        )

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()


class KeyLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_subjects: list[UUID] = Field(min_length=1, max_length=MAX_DATA_SUBJECTS)


class DataKey(BaseModel):
    data_subject: UUID
    status: Literal["active", "erased", "unknown"] = Field(
        description="erased: the person was erased and the key deleted for good; "
        "unknown: nothing personal was ever recorded for this id"
    )
    key: str | None = Field(None, description="Base64 of the 32-byte AES-256-GCM key")


class DataKeys(BaseModel):
    algorithm: Literal["AES-256-GCM"] = "AES-256-GCM"
    cache_seconds: float = Field(description="How long a consumer may keep these keys")
    keys: list[DataKey]


async def pii_reader(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if not may_read_data_keys(principal):
        raise Problem(403, "forbidden", "Not allowed", f"data keys need the {PII_READ} permission")
    return principal


RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "Missing or invalid token"},
    403: {"description": f"The caller lacks the {PII_READ} permission"},
    413: {"description": "The body is too large"},
    422: {"description": "The body is not valid"},
}


def data_keys_router() -> APIRouter:
    router = APIRouter(prefix="/v1/data-keys", tags=["privacy"])

    async def fetch(request: Request, principal: Principal, data_subjects: list[UUID]) -> Response:
        endpoint: DataKeyEndpoint = request.app.state.data_keys
        wanted = list(dict.fromkeys(data_subjects))
        async with endpoint.pool.connection() as conn:
            found = await endpoint.keyring.fetch_audited(
                conn, wanted, actor=principal.actor, correlation_id=correlation_id.get()
            )
        log.info(
            "data keys fetched", extra={"actor": principal.actor, "data_subjects": len(wanted)}
        )
        body = DataKeys(
            cache_seconds=endpoint.cache_seconds,
            keys=[_entry(data_subject, found.get(data_subject)) for data_subject in wanted],
        )
        # Keys are secrets: the middleware's Cache-Control: no-store keeps them out of
        # shared caches; the client keeps them in memory for cache_seconds.
        return Response(body.model_dump_json(), media_type="application/json")

    @router.post(
        "/lookup",
        summary="Fetch the data keys of up to 1,000 people (pii:read; every fetch is audited)",
        response_model=DataKeys,
        responses=RESPONSES,
        operation_id="lookup_data_keys",
    )
    async def lookup(
        body: KeyLookup, request: Request, principal: Annotated[Principal, Depends(pii_reader)]
    ) -> Response:
        return await fetch(request, principal, body.data_subjects)

    @router.get(
        "/{data_subject_id}",
        summary="Fetch one person's data key (pii:read; every fetch is audited)",
        response_model=DataKeys,
        responses=RESPONSES,
        operation_id="get_data_key",
    )
    async def get_one(
        data_subject_id: UUID,
        request: Request,
        principal: Annotated[Principal, Depends(pii_reader)],
    ) -> Response:
        return await fetch(request, principal, [data_subject_id])

    return router


def _entry(data_subject: UUID, key: bytes | Erased | None) -> DataKey:
    if key is None:
        return DataKey(data_subject=data_subject, status="unknown")
    if isinstance(key, Erased):
        return DataKey(data_subject=data_subject, status="erased")
    return DataKey(data_subject=data_subject, status="active", key=base64.b64encode(key).decode())
