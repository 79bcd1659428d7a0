"""The 360 of one customer is read in one snapshot: its document, timeline and sales
section cannot disagree (a deal won between two of the reads is never both open and won)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from psycopg import AsyncConnection

from crm_projections.customer360 import queries
from crm_projections.customer360.projection import Customer360Projection
from tests.integration.test_customer360_batches import as_received


async def test_one_customer_is_read_in_one_repeatable_read_snapshot(fresh_database: str) -> None:
    contact_id = uuid4()
    async with await AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        projection = Customer360Projection()
        await projection.setup(conn)
        async with conn.transaction():
            await projection.apply(conn, as_received(contact_id))
    async with await AsyncConnection.connect(fresh_database) as reading:
        document: Any = await queries.customer(reading, contact_id, None)
        assert document is not None and document["id"] == str(contact_id)
        cur = await reading.execute("SHOW transaction_isolation")
        assert await cur.fetchone() == ("repeatable read",)
        cur = await reading.execute("SHOW transaction_read_only")
        assert await cur.fetchone() == ("on",)
