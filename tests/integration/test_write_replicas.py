"""Two replicas of the contacts service (separate processes, as `crm serve contacts` runs
them) against one database: group commit in each, one relay leader between them, and
If-Match and Idempotency-Key that hold across both."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.infra.service_process import ServiceProcess
from crm_shared.messaging.topics import ensure_topics
from crm_shared.settings import Settings
from tests.conftest import free_port
from tests.integration.kafka_tools import read_all

TOPIC = "crm.contacts.events"


@dataclass
class Replicas:
    urls: list[str]
    database_url: str
    bootstrap: str
    auth: dict[str, str]


def wait_until_ready(url: str, process: ServiceProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.exit_status() is None, f"{url} exited with {process.exit_status()}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    """A broker of their own: the replicas publish to crm.contacts.events, which the
    session's end-to-end stack consumes, and their events are no business of its."""
    broker = EmbeddedKafka(free_port(), log_file=tmp_path_factory.mktemp("kafka") / "tansu.log")
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers, partitions=4))
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def replicas(postgres: EmbeddedPostgres, own_broker: EmbeddedKafka) -> Iterator[Replicas]:
    kafka = own_broker
    postgres.create_database("replicas")
    database_url = postgres.database_url("replicas")
    processes, urls = [], []
    for _ in range(2):
        port = free_port()
        env = {
            **os.environ,
            "CRM_EMBEDDED": "true",  # the test's own PostgreSQL and broker
            "CRM_DATABASE_URL": database_url,
            "CRM_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "CRM_CONTACTS_PORT": str(port),
            "CRM_WORKERS": "1",  # each replica one process: two processes in all
            "CRM_RELAY_POLL_SECONDS": "0.05",
            "CRM_LOG_LEVEL": "WARNING",
        }
        process = ServiceProcess.serve("contacts", env)
        process.start()
        processes.append(process)
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_until_ready(url, process)
        token = issue_token(
            Settings(), principal_id="replica-tester", role=Role.ADMIN, departments=["sales"]
        )
        yield Replicas(
            urls, database_url, kafka.bootstrap_servers, {"Authorization": f"Bearer {token}"}
        )
    finally:
        for process in processes:
            process.stop()


async def post(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.post(path, json=body, headers=headers)


async def patch(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.patch(path, json=body, headers=headers)


async def register(replicas: Replicas, url: str, name: str) -> UUID:
    response = await post(
        url, "/v1/contacts", {"first_name": name, "last_name": "Replica"}, replicas.auth
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def stored_events_of(database_url: str, aggregate_ids: list[UUID]) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM contacts.contacts_events WHERE originator_id = ANY(%s)",
            (aggregate_ids,),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_concurrent_changes_with_one_if_match_across_replicas_have_one_winner(
    replicas: Replicas,
) -> None:
    contact = await register(replicas, replicas.urls[0], "Grace")
    headers = {**replicas.auth, "If-Match": '"1"'}
    answers = await asyncio.gather(
        *(
            patch(replicas.urls[n % 2], f"/v1/contacts/{contact}", {"job_title": f"T{n}"}, headers)
            for n in range(10)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [412] * 9, [a.text for a in answers]
    assert stored_events_of(replicas.database_url, [contact]) == 2


async def test_one_idempotency_key_sent_to_both_replicas_at_once_records_once(
    replicas: Replicas,
) -> None:
    headers = {**replicas.auth, "Idempotency-Key": f"replicas-{time.monotonic_ns()}"}
    body = {"first_name": "Katherine", "last_name": "Johnson"}
    answers = await asyncio.gather(
        *(post(replicas.urls[n % 2], "/v1/contacts", body, headers) for n in range(8))
    )
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1, "every answer is the first one"
    assert len({(a.headers["ETag"], a.headers["Location"]) for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    contact = UUID(answers[0].json()["id"])
    assert stored_events_of(replicas.database_url, [contact]) == 1


async def test_events_written_through_both_replicas_are_published_once_in_order(
    replicas: Replicas,
) -> None:
    contacts = await asyncio.gather(
        *(register(replicas, replicas.urls[n % 2], f"Ordered{n}") for n in range(6))
    )
    for round_ in range(3):  # each change through the other replica than the last
        changes = await asyncio.gather(
            *(
                patch(
                    replicas.urls[(n + round_) % 2],
                    f"/v1/contacts/{contact}",
                    {"job_title": f"Round {round_}"},
                    replicas.auth,
                )
                for n, contact in enumerate(contacts)
            )
        )
        assert [c.status_code for c in changes] == [200] * len(contacts)
    expected = {(str(c), v) for c in contacts for v in range(1, 5)}

    deadline = time.monotonic() + 30
    while True:
        published = [
            (record.key.decode(), int(dict(record.headers)["ce_sequence"]))
            for record in await read_all(replicas.bootstrap, TOPIC)
            if record.key is not None and record.key.decode() in {str(c) for c in contacts}
        ]
        if set(published) >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert sorted(published) == sorted(expected), "each event once on the topic"
    for contact in contacts:
        versions = [v for key, v in published if key == str(contact)]
        assert versions == sorted(versions), f"{contact}'s events out of order: {versions}"
