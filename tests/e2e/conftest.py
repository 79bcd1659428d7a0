"""The whole stack in-process: contacts and projections apps with their relays and
consumers running, over the session's real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from crm_contacts.application import ContactsApplication
from crm_contacts.main import create_app as create_contacts_app
from crm_projections.main import create_app as create_projections_app
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.settings import Settings
from tests.conftest import free_port

T = TypeVar("T")


@dataclass
class Stack:
    settings: Settings
    contacts: httpx.AsyncClient
    projections: httpx.AsyncClient
    # The contacts service's application, for recording what its API no longer accepts.
    contacts_app: ContactsApplication | None = None

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


@asynccontextmanager
async def served(app: Any, port: int) -> AsyncIterator[None]:
    """Serves an app over real HTTP (for other services' calls, like key fetches)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def stack(postgres: EmbeddedPostgres, kafka: EmbeddedKafka) -> AsyncIterator[Stack]:
    postgres.create_database("e2e")
    contacts_port = free_port()
    settings = Settings(
        embedded=True,  # the test's own PostgreSQL and broker: the development secrets do
        database_url=postgres.database_url("e2e"),
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        log_json=False,
        relay_poll_seconds=0.05,
        service_urls={"contacts": f"http://127.0.0.1:{contacts_port}"},
    )
    async with AsyncExitStack() as exits:
        clients, apps = [], []
        for factory in (create_contacts_app, create_projections_app):
            app = factory(settings)
            apps.append(app)
            await exits.enter_async_context(app.router.lifespan_context(app))
            if factory is create_contacts_app:
                # The 360 fetches people's data keys from the contacts service over HTTP.
                await exits.enter_async_context(served(app, contacts_port))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            )
            await exits.enter_async_context(client)
            clients.append(client)
        yield Stack(settings, *clients, contacts_app=apps[0].state.contacts)


async def register_contact(
    stack: Stack, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"first_name": "Ada", "last_name": "Lovelace", **fields}
    response = await stack.contacts.post("/v1/contacts", json=body, headers=headers or stack.auth())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
