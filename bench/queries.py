"""What the bench reads back from the CRM's databases and read side: latencies from the
databases' own timestamps, whether the 360 opened personal data, events for a rebuild."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg

from crm_shared.privacy.cipher import PREFIX
from crm_shared.settings import Settings


def data_keys(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM contacts.data_keys").fetchone()
    assert row is not None
    return int(row[0])


def stored_events(database_url: str) -> int:
    """Events in the contacts store: as many as the relay has put on the topic."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT coalesce(max(notification_id), 0) FROM contacts.contacts_events"
        ).fetchone()
    assert row is not None
    return int(row[0])


def latency_percentiles(database_url: str, tag: str) -> dict[str, float]:
    """Event to 360 visible: from the command's event time to the row's projection time,
    both taken by PostgreSQL, over the contacts tagged ``tag``."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY"
            " extract(epoch FROM projected_at - created_at)), count(*)"
            " FROM projections.customers WHERE tags @> ARRAY[%s]",
            (tag,),
        ).fetchone()
    assert row is not None
    if not row[1]:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "count": 0}
    p50, p95, p99 = row[0]
    return {"p50_ms": p50 * 1000, "p95_ms": p95 * 1000, "p99_ms": p99 * 1000, "count": row[1]}


def search_latencies(url: str, token: str, requests: int = 200) -> dict[str, float]:
    """Sequential searches by name fragment: what a user typing in a search box causes."""
    latencies = []
    total = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for n in range(requests):
            started = time.perf_counter()
            answer = client.get("/v1/customers", params={"q": f"r{n % 50}", "limit": 50})
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
            total = max(total, answer.json()["total"])
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "total": total,
    }


def sealed_in_the_360(database_url: str) -> tuple[int, int, str | None]:
    """Customer documents, how many still hold a sealed value, and one first name: a consumer
    that gets no data keys from the contacts service keeps the sealed strings."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE doc::text LIKE %s),"
            " min(doc #>> '{profile,first_name}') FROM projections.customers",
            (f"%{PREFIX}%",),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), row[2]


def top_up_events(database_url: str, target: int) -> int:
    """Stores generated contact events straight into the event store until ``target``."""
    from uuid import uuid4

    from crm_contacts.application import SCHEMA, ContactsEventStore
    from crm_contacts.domain.contact import Contact
    from crm_shared.catalog.contacts import ContactRegistered
    from crm_shared.events import EventMetadata
    from crm_shared.values import Channel, Direction, Email

    store = ContactsEventStore(database_url, SCHEMA, Settings(embedded=True).key_wrapper())
    try:
        existing = store.recorder.max_notification_id() or 0
        missing = target - existing
        meta = EventMetadata(actor="user:bench")
        while missing > 0:
            events: list[Any] = []
            for i in range(min(missing // 4 + 1, 250)):
                contact = Contact.register(
                    uuid4(),
                    ContactRegistered(
                        first_name=f"R{i}",
                        last_name="Rebuild",
                        department="sales",
                        emails=[Email(address=f"r{i}@example.com")],
                        tags=["rebuild"],
                    ),
                )
                contact.update({"job_title": "Engineer"})
                for _ in range(2):
                    contact.log_interaction(
                        interaction_id=uuid4(),
                        channel=Channel.EMAIL,
                        direction=Direction.INBOUND,
                        subject="Hello",
                        notes=None,
                        occurred_at=contact.created_on,
                        by="bench",
                    )
                for event in contact.collect_events():
                    event.metadata = meta
                    events.append(event)
            store.append(events)
            missing -= len(events)
        return store.recorder.max_notification_id() or 0
    finally:
        store.close()
