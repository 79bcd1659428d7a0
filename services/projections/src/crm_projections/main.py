"""The projections service, declared: read models built from the event streams."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from crm_projections.cli import cli
from crm_projections.projections import CONSUMERS, SCHEMA
from crm_shared.service import ServiceDefinition

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crm_shared.settings import Settings

SERVICE = ServiceDefinition(
    name="projections",
    title="Projections",
    port=8105,
    app_factory="crm_projections.main:create_app",
    description=(
        "Read models built from the event streams. The customer 360: one document per "
        "person with profile, company, consents, tags and the full timeline. The pipeline "
        "forecast: per period and group, now or as it stood at any past instant."
    ),
    consumes=("contacts", "sales"),
    consumer_schema=SCHEMA,
    consumers=CONSUMERS,
    cli=cli,
    # One worker per replica; scale out with replicas, which share the partitions
    # (a consumer group, docs/architecture.md "Replicas").
    max_workers=1,
    replicas=2,
    rebuilds=tuple(CONSUMERS),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    from crm_projections.api import customers, forecast
    from crm_projections.cli import consumer_settings
    from crm_projections.projections import all_projections
    from crm_shared.service_app import read_model_app
    from crm_shared.settings import get_settings

    settings = settings or get_settings()
    return read_model_app(
        SERVICE,
        settings,
        projections=list(all_projections().values()),
        consumer_settings=replace(consumer_settings(settings), group=settings.consumer_group),
        routers=[customers.router, forecast.router],
    )
