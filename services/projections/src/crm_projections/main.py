"""Composition root of the projections service: consumers feeding read models, query API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from crm_projections.api import customers
from crm_projections.cli import cli, consumer_settings
from crm_projections.projections import SCHEMA, all_projections
from crm_shared.health import broker_check, database_check
from crm_shared.http.app import ReadinessCheck, create_service_app
from crm_shared.messaging.consumer import ProjectionConsumer
from crm_shared.observability.logging import configure_logging
from crm_shared.service import ServiceDefinition
from crm_shared.settings import Settings, get_settings

NAME = "projections"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    config = consumer_settings(settings)
    consumers = [ProjectionConsumer(p, config) for p in all_projections().values()]

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

    configure_logging(NAME, settings.log_level, settings.log_json)
    return create_service_app(
        service=NAME,
        title="CRM projections",
        description=(
            "Read models built from the event streams. The customer 360: one document per "
            "person with profile, company, consents, tags and the full timeline."
        ),
        settings=settings,
        lifespan=lifespan,
        routers=[customers.router],
        readiness=readiness,
    )


SERVICE = ServiceDefinition(
    name=NAME,
    title="Projections",
    port=lambda s: s.projections_port,
    app_factory="crm_projections.main:create_app",
    cli=cli,
    max_workers=1,
    consumer_schema=SCHEMA,
)
