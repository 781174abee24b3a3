"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from workyard.api.draining import DrainingMiddleware
from workyard.api.errors import install_error_handlers
from workyard.api.metrics import Metrics, MetricsMiddleware
from workyard.api.middleware import RequestContextMiddleware
from workyard.api.openapi import install_openapi
from workyard.api.routes import environments, events, ops, sessions, work
from workyard.service.container import Services
from workyard.ui import router as ui_router

__all__ = ["create_app"]

API_PREFIX = "/api/v1/cloud"


def create_app(services: Services, *, manage_lifecycle: bool = True) -> FastAPI:
    """An app serving ``services``; with ``manage_lifecycle`` it opens and closes them itself."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await services.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await services.stop()

    app = FastAPI(
        title="workyard",
        version="0.1.0",
        summary="Self-hosted work queue, wire-compatible with the Qoder Cloud Agents API.",
        lifespan=lifespan,
        docs_url=None,  # /docs is served by routes/ops.py from packaged assets
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.services = services
    app.state.metrics = metrics = Metrics(services.queue)
    install_error_handlers(app)
    app.add_middleware(DrainingMiddleware, draining=services.queue.draining)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=services.settings.max_body_bytes)
    app.include_router(ops.router)
    app.include_router(environments.router, prefix=API_PREFIX)
    app.include_router(sessions.router, prefix=API_PREFIX)
    app.include_router(events.router, prefix=API_PREFIX)
    app.include_router(work.router, prefix=API_PREFIX)
    app.include_router(ui_router)
    install_openapi(app)
    return app
