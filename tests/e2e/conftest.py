"""The whole stack in-process: contacts and projections apps with their relays and
consumers running, over the session's real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from crm_contacts.main import create_app as create_contacts_app
from crm_projections.main import create_app as create_projections_app
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.settings import Settings

T = TypeVar("T")


@dataclass
class Stack:
    settings: Settings
    contacts: httpx.AsyncClient
    projections: httpx.AsyncClient

    def token(self, role: Role = Role.ADMIN, department: str = "sales", sub: str = "tester") -> str:
        return issue_token(self.settings, subject=sub, role=role, departments=[department])

    def auth(
        self, role: Role = Role.ADMIN, department: str = "sales", sub: str = "tester"
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, department, sub)}"}


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T:
    """Polls until the probe returns something truthy (read models are eventually consistent)."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
async def stack(postgres: EmbeddedPostgres, kafka: EmbeddedKafka) -> AsyncIterator[Stack]:
    postgres.create_database("e2e")
    settings = Settings(
        database_url=postgres.database_url("e2e"),
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        log_json=False,
        relay_poll_seconds=0.05,
    )
    async with AsyncExitStack() as exits:
        clients = []
        for factory in (create_contacts_app, create_projections_app):
            app = factory(settings)
            await exits.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            )
            await exits.enter_async_context(client)
            clients.append(client)
        yield Stack(settings, *clients)


async def register_contact(
    stack: Stack, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"first_name": "Ada", "last_name": "Lovelace", **fields}
    response = await stack.contacts.post("/v1/contacts", json=body, headers=headers or stack.auth())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
