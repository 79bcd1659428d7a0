"""A service's app around some routes, with no infrastructure: for tests of the HTTP edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI

from crm_shared.auth.principal import Role
from crm_shared.http.app import create_service_app
from crm_shared.service import EVERY_ROLE, ServiceDefinition
from crm_shared.settings import Settings


@asynccontextmanager
async def _nothing(_: FastAPI) -> AsyncIterator[None]:
    yield


def client_of(
    router: APIRouter,
    settings: Settings,
    *,
    name: str = "edge",
    roles: frozenset[Role] = EVERY_ROLE,
) -> httpx.AsyncClient:
    app = create_service_app(
        definition=ServiceDefinition(
            name=name, title=name.title(), port=0, app_factory="-", roles=roles
        ),
        settings=settings,
        lifespan=_nothing,
        routers=[router],
        readiness=dict,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
