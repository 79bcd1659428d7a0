"""The service users compare us with: plain CRUD, one INSERT per request (``plain``), or
requests batched into shared transactions (``batched``). Same request model as ours."""

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

DATABASE_URL = os.environ["BASELINE_DATABASE_URL"]
MODE = os.environ.get("BASELINE_MODE", "plain")
INSERT = "INSERT INTO baseline.contacts (id, doc) VALUES (%s, %s)"


def create_app() -> FastAPI:
    pending: list[tuple[tuple[str, str], asyncio.Future[None]]] = []
    wakeup = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(DATABASE_URL, min_size=4, max_size=40, open=False)
        await pool.open()
        async with pool.connection() as conn:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS baseline")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS baseline.contacts (id uuid PRIMARY KEY, doc jsonb)"
            )
        app.state.pool = pool
        writer = asyncio.create_task(batch_writer(pool)) if MODE == "batched" else None
        yield
        if writer:
            writer.cancel()
        await pool.close()

    async def batch_writer(pool: AsyncConnectionPool) -> None:
        while True:
            await wakeup.wait()
            wakeup.clear()
            while pending:
                batch = pending[:500]
                del pending[:500]
                async with pool.connection() as conn, conn.cursor() as cur:
                    await cur.executemany(INSERT, [row for row, _ in batch])
                for _, future in batch:
                    future.set_result(None)

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/contacts", status_code=201)
    async def create(body: RegisterContact) -> Response:
        contact_id = str(uuid.uuid4())
        doc = body.model_dump_json()
        if MODE == "batched":
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            pending.append(((contact_id, doc), future))
            wakeup.set()
            await future
        else:
            async with app.state.pool.connection() as conn:
                await conn.execute(INSERT, (contact_id, doc))
        return Response(
            doc,
            status_code=201,
            media_type="application/json",
            headers={"Location": f"/v1/contacts/{contact_id}"},
        )

    return app
