"""One factory per kind of service: what every event-sourced service and every read-model
service runs, so that a service's own code is its domain, its routes and a declaration.

An event-sourced service gets its event store (with personal fields sealed per person),
group commit, the outbox relay, the audited data-key endpoint, readiness (database,
broker) and metrics, and the read models it declares (``read_models``: its lists and
searches, fed by events, each with its consumer). A read-model service gets its
consumers (offsets with the read model, dead letters, the log check), a connection pool
for its queries, and readiness that says when a read model is still catching up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from crm_shared.catalog import CATALOG
from crm_shared.events import Catalog
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.eventstore.group_commit import GroupCommitter
from crm_shared.health import broker_check, database_check
from crm_shared.http.app import ReadinessCheck, create_service_app
from crm_shared.http.data_keys import DataKeyEndpoint, data_keys_router
from crm_shared.messaging.consumer import ConsumerSettings, Projection, ProjectionConsumer
from crm_shared.messaging.kept_read_models import KeptReadModels, consumer_settings
from crm_shared.messaging.relay import Relay
from crm_shared.observability.logging import configure_logging
from crm_shared.privacy.key_client import DataKeyClient, service_credentials
from crm_shared.privacy.own_keys import OwnDataKeys
from crm_shared.projections import ReadModel
from crm_shared.service import ServiceDefinition
from crm_shared.settings import Settings

# Builds the service's use cases over its event store and its group commit.
UseCases = Callable[[Any, GroupCommitter], Any]


def _infrastructure(settings: Settings) -> tuple[str, str]:
    if not settings.database_url or not settings.kafka_bootstrap_servers:
        raise RuntimeError("set CRM_DATABASE_URL and CRM_KAFKA_BOOTSTRAP_SERVERS (or use `crm up`)")
    return settings.database_url, settings.kafka_bootstrap_servers


def event_sourced_app(
    definition: ServiceDefinition,
    settings: Settings,
    *,
    event_store: type[EventSourcedApplication],
    use_cases: UseCases,
    routers: Sequence[APIRouter],
    read_models: Sequence[ReadModel] = (),
) -> FastAPI:
    """The app of a service whose aggregates are stored as events (``app.state.use_cases``).

    Its ``read_models`` are consumed while it runs (``KeptReadModels``); their query
    routes take a ``ReadModelConnection``, as a read-model service's do."""
    database_url, bootstrap = _infrastructure(settings)
    schema = definition.event_store_schema
    if schema is None:
        raise ValueError(f"{definition.name} declares no event_store_schema")
    kept = KeptReadModels(read_models, consumer_settings(settings, database_url, bootstrap))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuses a published master key: it would wrap every person's data key.
        master_key = settings.key_wrapper()
        events = await asyncio.to_thread(event_store, database_url, schema, master_key)
        relay = Relay.for_service(definition.name, events, schema, settings)
        committer = GroupCommitter(
            events,
            database_url,
            max_batch=settings.max_commands_per_transaction,
            on_commit=relay.wake,
        )
        await committer.start()
        if settings.relay_in_process:
            await relay.start()
        app.state.use_cases = use_cases(events, committer)
        app.state.data_keys = data_keys = DataKeyEndpoint(
            events.keyring, database_url, settings.data_key_cache_seconds
        )
        await data_keys.open()
        keys = OwnDataKeys(
            events.keyring,
            settings.url_of,
            service_credentials(settings, definition.name),
            cache_seconds=settings.data_key_cache_seconds,
        )
        pool = _query_pool(database_url)
        app.state.read_models = kept
        try:
            if read_models:
                await pool.open()
                app.state.pool = pool
                await kept.start(keys)
            yield
        finally:
            await kept.stop()
            await keys.close()
            await pool.close()
            await data_keys.close()
            await committer.stop()
            await relay.stop()
            events.close()

    def readiness() -> dict[str, ReadinessCheck]:
        return {
            "database": database_check(database_url),
            "broker": broker_check(bootstrap),
            # A read model still catching up would answer its lists with stale data.
            **kept.readiness(),
        }

    configure_logging(definition.name, settings.log_level, settings.log_json)
    return create_service_app(
        definition=definition,
        settings=settings,
        lifespan=lifespan,
        routers=[*routers, data_keys_router()],
        readiness=readiness,
    )


def event_sourced_relay(
    definition: ServiceDefinition, settings: Settings, event_store: type[EventSourcedApplication]
) -> Relay:
    """The relay on its own (`crm relay NAME`, with CRM_RELAY_IN_PROCESS=false)."""
    database_url, _ = _infrastructure(settings)
    schema = definition.event_store_schema
    if schema is None:
        raise ValueError(f"{definition.name} declares no event_store_schema")
    events = event_store(database_url, schema, settings.key_wrapper())
    return Relay.for_service(definition.name, events, schema, settings)


def read_model_settings(definition: ServiceDefinition, settings: Settings) -> ConsumerSettings:
    """How a read-model service's consumers run: their positions in its
    ``consumer_schema``, personal values opened with keys from the services that own them."""
    database_url, bootstrap = _infrastructure(settings)
    if definition.consumer_schema is None:
        raise ValueError(f"{definition.name} declares no consumer_schema")
    return ConsumerSettings(
        bootstrap_servers=bootstrap,
        database_url=database_url,
        schema=definition.consumer_schema,
        batch_size=settings.consumer_batch_size,
        max_retries=settings.consumer_max_retries,
        poll_ms=settings.consumer_poll_ms,
        keys=DataKeyClient.for_consumer(settings, definition.name),
    )


def read_model_app(
    definition: ServiceDefinition,
    settings: Settings,
    *,
    projections: Sequence[Projection],
    routers: Sequence[APIRouter],
    consumer_settings: ConsumerSettings | None = None,
    catalog: Catalog = CATALOG,
) -> FastAPI:
    """The app of a service that builds read models from topics (``app.state.pool``; its
    query routes take a ``ReadModelConnection``). The consumers decode through ``catalog``
    and run with ``consumer_settings`` (by default, ``read_model_settings``)."""
    config = consumer_settings or read_model_settings(definition, settings)
    consumers = [ProjectionConsumer(p, config, catalog) for p in projections]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Checked before use: after a database restart the pool would hand out dead
        # connections and answer 500s.
        pool = AsyncConnectionPool(
            config.database_url,
            min_size=2,
            max_size=10,
            open=False,
            check=AsyncConnectionPool.check_connection,
        )
        await pool.open()
        app.state.pool = pool
        for consumer in consumers:
            await consumer.start()
        try:
            yield
        finally:
            for consumer in consumers:
                await consumer.stop()
            if config.keys is not None:
                await config.keys.close()
            await pool.close()

    def readiness() -> dict[str, ReadinessCheck]:
        return {
            "database": database_check(config.database_url),
            "broker": broker_check(config.bootstrap_servers),
            # A read model still replaying is not ready: it would answer with stale data.
            **{consumer.projection.name: consumer.readiness for consumer in consumers},
        }

    configure_logging(definition.name, settings.log_level, settings.log_json)
    return create_service_app(
        definition=definition,
        settings=settings,
        lifespan=lifespan,
        routers=list(routers),
        readiness=readiness,
    )


def _query_pool(database_url: str) -> AsyncConnectionPool:
    # As read_model_app's: checked before use, so that a database restart does not leave
    # dead connections answering 500s.
    return AsyncConnectionPool(
        database_url,
        min_size=2,
        max_size=10,
        open=False,
        check=AsyncConnectionPool.check_connection,
    )


async def read_model_connection(request: Request) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from the read-model app's pool, for one query."""
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


ReadModelConnection = Annotated[AsyncConnection[Any], Depends(read_model_connection)]
