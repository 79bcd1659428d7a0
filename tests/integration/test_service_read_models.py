"""An event-sourced service's own read models (``event_sourced_app(read_models=...)``), over
the real PostgreSQL and the real broker: the sales service's app, run as one worker or
two, on a database of its own.

No service is served over HTTP here, and the key endpoint the settings name answers
nowhere: the read models open the service's own sealed fields from its keyring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI
from psycopg import AsyncConnection

from crm_sales.api import lead_list, leads
from crm_sales.application import SalesApplication, SalesEventStore
from crm_sales.lead_list.read_model import LeadList
from crm_sales.lead_list.rows import LEAD_EVENTS
from crm_sales.main import SERVICE
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.kept_read_models import KeptReadModels
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel
from crm_shared.service_app import event_sourced_app
from crm_shared.settings import Settings
from tests.conftest import free_port
from tests.e2e.conftest import eventually
from tests.sales.specs.contact_records import NONE_KNOWN

WITHIN = 60.0


class AppliedOnce(ReadModel):
    """One row per lead event applied, without a key: an event applied twice shows twice."""

    name = "applied_once"
    topics = (events_topic("sales"),)
    handles = LEAD_EVENTS
    schema = "sales_applied_once"
    tables = ("applied",)

    def __init__(self, schema: str | None = None, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        self.ddl = (
            f'CREATE TABLE IF NOT EXISTS "{self.schema}".applied (lead_id uuid, version int)',
        )

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        async with conn.cursor() as cur:
            await cur.executemany(
                f'INSERT INTO "{self.schema}".applied VALUES (%s, %s)',
                [(e.aggregate_id, e.version) for e in events],
            )


def settings_for(database_url: str, kafka: EmbeddedKafka) -> Settings:
    nowhere = f"http://127.0.0.1:{free_port()}"
    return Settings(
        embedded=True,
        database_url=database_url,
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        log_json=False,
        relay_poll_seconds=0.05,
        service_urls={"sales": nowhere},
    )


def sales_worker(settings: Settings) -> FastAPI:
    return event_sourced_app(
        SERVICE,
        settings,
        event_store=SalesEventStore,
        # Its leads name no contact or account: it needs no read model of them.
        use_cases=lambda events, committer: SalesApplication(
            events, committer, contacts=NONE_KNOWN
        ),
        routers=[lead_list.router, leads.router],
        read_models=[LeadList(), AppliedOnce()],
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


def admin(settings: Settings) -> dict[str, str]:
    token = issue_token(settings, principal_id="tester", role=Role.ADMIN, departments=["sales"])
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, settings: Settings, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/leads", json=body, headers=admin(settings))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    async with await AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(query)  # type: ignore[arg-type]
        return await cursor.fetchall()


async def test_a_declared_read_model_is_consumed_and_opens_the_services_own_sealed_fields(
    kafka: EmbeddedKafka, fresh_database: str
) -> None:
    settings = settings_for(fresh_database, kafka)
    async with running(sales_worker(settings)) as client:
        lead = await register(
            client, settings, first_name="Grace", last_name="Hopper", email="grace@example.com"
        )

        async def listed() -> list[dict[str, Any]] | None:
            response = await client.get(
                "/v1/leads", params={"q": "grace@example"}, headers=admin(settings)
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return [i for i in items if i["id"] == lead["id"]] or None

        (item,) = await eventually(listed, within=WITHIN)
    assert (item["name"], item["email"]) == ("Grace Hopper", "grace@example.com")


async def test_each_read_model_keeps_its_consumer_positions_in_its_own_schema(
    kafka: EmbeddedKafka, fresh_database: str
) -> None:
    settings = settings_for(fresh_database, kafka)
    async with running(sales_worker(settings)) as client:
        lead = await register(client, settings, first_name="Ada")
        applied = f"SELECT 1 FROM sales_applied_once.applied WHERE lead_id = '{lead['id']}'"

        async def both_applied() -> bool:
            listed = await rows(
                fresh_database, f"SELECT 1 FROM sales_leads.leads WHERE lead_id = '{lead['id']}'"
            )
            return bool(listed and await rows(fresh_database, applied))

        await eventually(both_applied, within=WITHIN)
    for schema, consumer in (("sales_leads", "lead_list"), ("sales_applied_once", "applied_once")):
        positions = await rows(
            fresh_database,
            f"SELECT DISTINCT consumer, topic FROM {schema}.consumer_offsets",
        )
        assert positions == [(consumer, "crm.sales.events")]


async def test_two_workers_started_at_once_share_the_partitions_and_apply_each_event_once(
    kafka: EmbeddedKafka, fresh_database: str
) -> None:
    settings = settings_for(fresh_database, kafka)
    async with AsyncExitStack() as first, AsyncExitStack() as second:
        apps = [sales_worker(settings) for _ in range(2)]
        # Started at once, as a service's worker processes are: their read models' tables
        # are created once, not raced for.
        clients = await asyncio.gather(
            *(
                s.enter_async_context(running(app))
                for s, app in zip((first, second), apps, strict=True)
            )
        )
        registered = await asyncio.gather(
            *(register(clients[i % 2], settings, first_name=f"Lead {i}") for i in range(40))
        )
        # Every version of every lead, once each (a registration is rescored at once).
        expected = sorted(
            (UUID(lead["id"]), version)
            for lead in registered
            for version in range(1, lead["version"] + 1)
        )
        ours = {UUID(lead["id"]) for lead in registered}

        async def all_applied() -> list[tuple[Any, ...]] | None:
            found = await rows(
                fresh_database, "SELECT lead_id, version FROM sales_applied_once.applied"
            )
            mine = sorted(r for r in found if r[0] in ours)
            return mine if len(mine) >= len(expected) else None

        await eventually(all_applied, within=WITHIN)
        await asyncio.sleep(1.0)  # anything applied twice has had time to show
        found = await rows(
            fresh_database, "SELECT lead_id, version FROM sales_applied_once.applied"
        )
        assert sorted(r for r in found if r[0] in ours) == expected

        async def shared() -> bool:
            kept: list[KeptReadModels] = [app.state.read_models for app in apps]
            claims = [
                set(c.claims) for k in kept for c in k.consumers if c.projection.name == "lead_list"
            ]
            return len(claims) == 2 and all(claims) and not claims[0] & claims[1]

        # Both workers hold some of the topic's partitions, none the same.
        await eventually(shared, within=WITHIN)
