"""An event store made before a rename still opens: its columns and its append function
are renamed on start, once, and records keep being written."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import psycopg

from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.values import Email
from tests.integration.helpers import store_for


def columns(database: str, table: str) -> set[str]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'contacts' AND table_name = %s",
            (table,),
        ).fetchall()
    return {name for (name,) in rows}


def append_parameters(database: str) -> list[str]:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT p.proargnames FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'contacts' AND p.proname LIKE '%%events_append'"
        ).fetchone()
    assert row is not None
    return list(row[0])


def make_old_shape(database: str) -> None:
    """Turns today's tables back into the shape they had before the rename."""
    with psycopg.connect(database, autocommit=True) as conn:
        name = conn.execute(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'contacts' AND p.proname LIKE '%%events_append'"
        ).fetchone()
        assert name is not None
        function, arguments = name
        conn.execute("ALTER TABLE contacts.data_keys RENAME COLUMN data_subject_id TO subject_id")
        conn.execute("ALTER TABLE contacts.data_key_access RENAME COLUMN data_subjects TO subjects")
        conn.execute(f"DROP FUNCTION contacts.{function}({arguments})")
        old_arguments = arguments.replace("new_data_subjects", "new_subjects")
        conn.execute(
            f"CREATE FUNCTION contacts.{function}({old_arguments}) RETURNS SETOF bigint"
            " LANGUAGE sql AS 'SELECT 1::bigint'"
        )


async def test_a_store_made_before_the_data_subject_rename_is_renamed_and_keeps_writing(
    fresh_database: str,
) -> None:
    first = await asyncio.to_thread(store_for, fresh_database)
    first.close()
    make_old_shape(fresh_database)
    assert "subject_id" in columns(fresh_database, "data_keys")
    assert "new_subjects" in append_parameters(fresh_database)

    store = await asyncio.to_thread(store_for, fresh_database)
    try:
        contact = Contact.register(
            uuid4(),
            ContactRegistered(
                first_name="Ada", emails=[Email(address="ada@example.com")], department="sales"
            ),
        )
        await asyncio.to_thread(store.append, contact.collect_events())
        loaded = await asyncio.to_thread(store.load, Contact, contact.id)
    finally:
        store.close()

    assert loaded.first_name == "Ada"
    assert "data_subject_id" in columns(fresh_database, "data_keys")
    assert "data_subjects" in columns(fresh_database, "data_key_access")
    assert "new_data_subjects" in append_parameters(fresh_database)
