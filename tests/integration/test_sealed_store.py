"""Sealing in the event store itself: what two processes over one database see."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import psycopg

from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.values import Email
from tests.integration.helpers import store_for


async def test_a_process_still_caching_a_key_reads_the_person_as_erased_after_another_erased_them(
    fresh_database: str,
) -> None:
    writer, other = [await asyncio.to_thread(store_for, fresh_database) for _ in range(2)]
    try:
        contact = Contact.register(
            uuid4(),
            ContactRegistered(
                first_name="Ada", emails=[Email(address="ada@example.com")], department="sales"
            ),
        )
        await asyncio.to_thread(writer.append, contact.collect_events())
        cached = await asyncio.to_thread(writer.load, Contact, contact.id)
        assert cached.first_name == "Ada", "the writer now holds the key in its cache"

        erasing = await asyncio.to_thread(other.load, Contact, contact.id)
        erasing.erase()
        await asyncio.to_thread(other.append, erasing.collect_events())

        events = await asyncio.to_thread(writer.events_of, contact.id)
        registered = events[0].data
        assert isinstance(registered, ContactRegistered)
        assert (registered.first_name, registered.emails) == (None, [])
        with psycopg.connect(fresh_database) as conn:
            row = conn.execute(
                "SELECT wrapped_key, erased_at FROM contacts.data_keys WHERE data_subject_id = %s",
                (contact.id,),
            ).fetchone()
        assert row is not None and row[0] is None and row[1] is not None
    finally:
        writer.close()
        other.close()
