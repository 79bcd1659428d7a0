"""Contacts and accounts the sales service knows of: created in the contacts service, then
awaited in the sales service's read model of them (``crm_sales.contact_records``), which a
deal's or an activity's reference is checked against. Until a record has arrived there,
the sales service answers a reference to it as unknown."""

from __future__ import annotations

from typing import Any

import psycopg

from crm_sales.contact_records import SCHEMA
from tests.e2e.conftest import Stack, eventually, register_contact

# The read model is fed over the broker: a loaded machine may take a few seconds.
WITHIN = 30.0


async def sales_row(stack: Stack, record_id: str) -> tuple[str, bool, bool] | None:
    """The record's (department, archived, erased) as the sales service knows it."""
    assert stack.settings.database_url
    async with await psycopg.AsyncConnection.connect(stack.settings.database_url) as conn:
        cursor = await conn.execute(
            f"SELECT department, archived, erased FROM {SCHEMA}.records WHERE record_id = %s",
            (record_id,),
        )
        row = await cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def known_to_sales(stack: Stack, record_id: str) -> None:
    await eventually(lambda: sales_row(stack, record_id), within=WITHIN)


async def an_account_sales_knows(
    stack: Stack, department: str = "sales", **fields: Any
) -> dict[str, Any]:
    body = {"name": "Acme", "department": department, "owner": None, **fields}
    response = await stack.contacts.post("/v1/accounts", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    account: dict[str, Any] = response.json()
    await known_to_sales(stack, account["id"])
    return account


async def a_contact_sales_knows(stack: Stack, **fields: Any) -> dict[str, Any]:
    contact = await register_contact(stack, **fields)
    await known_to_sales(stack, contact["id"])
    return contact
