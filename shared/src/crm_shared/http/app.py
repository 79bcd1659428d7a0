"""Builds a service's FastAPI app: shared middleware, errors, health, readiness, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from crm_shared.auth.api_keys import ApiKeyVerifier
from crm_shared.auth.tokens import VerifiedTokens
from crm_shared.http.command_lane import CommandLane
from crm_shared.http.middleware import RequestContextMiddleware
from crm_shared.http.problems import install_problem_handlers
from crm_shared.http.readiness import ReadinessCheck, ReadinessProbe
from crm_shared.service import ServiceDefinition
from crm_shared.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def operations_router(
    checks: Callable[[], dict[str, ReadinessCheck]], timeout: float = 2.0
) -> APIRouter:
    router = APIRouter(tags=["operations"])
    probe = ReadinessProbe(checks, timeout)

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database and the broker answer, and the read models are current",
        responses={503: {"description": "a dependency is unreachable, or a read model lags"}},
    )
    async def readyz() -> JSONResponse:
        ready, results = await probe()
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(
    *,
    definition: ServiceDefinition,
    settings: Settings,
    lifespan: Lifespan,
    routers: list[APIRouter],
    readiness: Callable[[], dict[str, ReadinessCheck]],
) -> FastAPI:
    settings.refuse_published_jwt_secret()
    keys_url = settings.api_keys_database_url
    api_keys = ApiKeyVerifier(keys_url) if keys_url else None

    @asynccontextmanager
    async def lifespan_with_auth(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app):
            yield
        if api_keys is not None:
            await api_keys.close()

    app = FastAPI(
        title=f"CRM {definition.name}",
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan_with_auth,
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.settings = settings
    app.state.service = definition.name
    app.state.service_roles = definition.roles
    app.state.tokens = VerifiedTokens(settings)
    app.state.api_keys = api_keys
    install_problem_handlers(app)
    app.include_router(operations_router(readiness))
    for router in routers:
        app.include_router(router)
    # Innermost of the middleware: CORS and the request context wrap the lane too.
    app.add_middleware(
        CommandLane, routes=app.router.routes, exception_handlers=app.exception_handlers
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "X-Correlation-ID",
            ],
            expose_headers=["ETag", "Location", "X-Correlation-ID"],
        )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    return app


__all__ = ["ReadinessCheck", "create_service_app"]
