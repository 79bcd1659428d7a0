"""The services users compare us with, on the CRM's own request model and validation:

- ``plain``: plain CRUD, one INSERT per request, its own transaction, durable commit;
- ``batched``: requests collected and INSERTed up to 500 per transaction (one writer per
  worker process), each request answered after its transaction's durable commit;
- ``ceiling``: no database at all; validates the body and answers 201. What FastAPI and
  the request model cost on this machine: no service on this stack answers faster.

The bench runs each with two uvicorn workers, as the CRM runs its contacts service, and
creates ``baseline.contacts`` before starting them (two workers creating it at once race).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool
from starlette.responses import Response

from crm_contacts.api.schemas import RegisterContact

MODES = ("plain", "batched", "ceiling")
TABLE = "CREATE TABLE IF NOT EXISTS baseline.contacts (id uuid PRIMARY KEY, doc jsonb)"
INSERT = "INSERT INTO baseline.contacts (id, doc) VALUES (%s, %s)"
BATCH = 500

Pending = list[tuple[tuple[str, str], asyncio.Future[None]]]


def create_app() -> FastAPI:
    mode = os.environ.get("BASELINE_MODE", "plain")
    if mode not in MODES:
        raise ValueError(f"BASELINE_MODE must be one of {MODES}, not {mode!r}")
    pending: Pending = []
    wakeup = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if mode == "ceiling":
            yield
            return
        pool = AsyncConnectionPool(
            os.environ["BASELINE_DATABASE_URL"], min_size=4, max_size=40, open=False
        )
        await pool.open()
        app.state.pool = pool
        writer = asyncio.create_task(batch_writer(pool)) if mode == "batched" else None
        yield
        if writer:
            writer.cancel()
        await pool.close()

    async def batch_writer(pool: AsyncConnectionPool) -> None:
        while True:
            await wakeup.wait()
            wakeup.clear()
            while pending:
                batch = pending[:BATCH]
                del pending[:BATCH]
                try:
                    async with pool.connection() as conn, conn.cursor() as cur:
                        await cur.executemany(INSERT, [row for row, _ in batch])
                    # Leaving the block committed the transaction: only now answer.
                except Exception as error:
                    for _, future in batch:
                        future.set_exception(error)
                    continue
                for _, future in batch:
                    future.set_result(None)

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/contacts", status_code=201)
    async def create(body: RegisterContact) -> Response:
        contact_id = str(uuid.uuid4())
        doc = body.model_dump_json()
        if mode == "batched":
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            pending.append(((contact_id, doc), future))
            wakeup.set()
            await future
        elif mode == "plain":
            async with app.state.pool.connection() as conn:
                await conn.execute(INSERT, (contact_id, doc))
        return Response(
            doc,
            status_code=201,
            media_type="application/json",
            headers={"Location": f"/v1/contacts/{contact_id}"},
        )

    return app
