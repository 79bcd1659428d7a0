"""The whole stack in-process: every installed service's app with its relays and
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
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.service import ServiceDefinition, installed_services, load
from crm_shared.settings import Settings
from tests.conftest import free_port

T = TypeVar("T")


@dataclass
class Stack:
    settings: Settings
    clients: dict[str, httpx.AsyncClient]  # one per installed service, by name
    # The contacts service's application, for recording what its API no longer accepts.
    contacts_app: ContactsApplication | None = None

    @property
    def contacts(self) -> httpx.AsyncClient:
        return self.clients["contacts"]

    @property
    def projections(self) -> httpx.AsyncClient:
        return self.clients["projections"]

    def token(self, role: Role = Role.ADMIN, department: str = "sales", sub: str = "tester") -> str:
        return issue_token(self.settings, principal_id=sub, role=role, departments=[department])

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


def stack_settings(database_url: str, bootstrap_servers: str, ports: dict[str, int]) -> Settings:
    """Settings for services served by the tests, on these ports, over this database."""
    return Settings(
        embedded=True,  # the test's own PostgreSQL and broker: the development secrets do
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap_servers,
        log_json=False,
        relay_poll_seconds=0.05,
        ports=ports,
        service_urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
    )


async def serve(
    exits: AsyncExitStack, definition: ServiceDefinition, settings: Settings
) -> tuple[Any, httpx.AsyncClient]:
    """Builds a service's app from its definition, runs it (relay, consumers) until
    ``exits`` closes, serves it over real HTTP on its port and gives a client of it."""
    app = load(definition.app_factory)(settings)
    await exits.enter_async_context(app.router.lifespan_context(app))
    await exits.enter_async_context(served(app, settings.port_of(definition.name)))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    return app, await exits.enter_async_context(client)


# For the e2e tests only: stopped when they are done, so that the tests after them do not
# share the event loop with three services' relays, consumers and listeners (a relay test
# there hung twice in a full run once sales joined the stack).
@pytest.fixture(scope="package")
async def stack(postgres: EmbeddedPostgres, kafka: EmbeddedKafka) -> AsyncIterator[Stack]:
    postgres.create_database("e2e")
    services = installed_services()
    # Every service is also served over real HTTP: consumers fetch data keys from the
    # services that write events.
    ports = {name: free_port() for name in services}
    settings = stack_settings(postgres.database_url("e2e"), kafka.bootstrap_servers, ports)
    async with AsyncExitStack() as exits:
        clients, apps = {}, {}
        # Writers first, so that readers find the key endpoints up.
        for name, definition in sorted(
            services.items(), key=lambda item: item[1].event_store_schema is None
        ):
            apps[name], clients[name] = await serve(exits, definition, settings)
        yield Stack(settings, clients, contacts_app=apps["contacts"].state.use_cases)


async def register_contact(
    stack: Stack, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"first_name": "Ada", "last_name": "Lovelace", **fields}
    response = await stack.contacts.post("/v1/contacts", json=body, headers=headers or stack.auth())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
