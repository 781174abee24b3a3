"""Operational routes outside the API prefix: health, readiness, metrics, docs, the emulator
clock."""

from __future__ import annotations

import math

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workyard.api.docs import docs_asset
from workyard.api.inputs import read_body
from workyard.api.router import Routes
from workyard.api.routes.common import authenticate, json_response, services
from workyard.clock import format_ts
from workyard.errors import InvalidRequestError, NotFoundError, OverloadedError

__all__ = ["router"]

router = Routes()
_MAX_ADVANCE_SECONDS = 10 * 365 * 86400


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


@router.get("/docs/static/{name}")
async def docs_static(name: str) -> Response:
    data, media_type = docs_asset(name)
    headers = {"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"}
    return Response(data, media_type=media_type, headers=headers)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition (unauthenticated, like /healthz; keep it on a private network)."""
    await services(request).queue.keeper.settled()  # this replica's own writes are counted
    await request.app.state.metrics.queue.refresh()
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    try:
        await services(request).store.ping()
    except Exception:
        raise OverloadedError("The database is unavailable.") from None
    return json_response({"status": "ready"})


@router.post("/_emulator/clock")
async def advance_clock(request: Request) -> Response:
    """Move the manual clock (``workyard serve --manual-clock`` only); every expiry fires."""
    svc = services(request)
    clock = svc.manual_clock
    if clock is None:
        raise NotFoundError("No such route (the server is not running with --manual-clock).")
    principal = await authenticate(request)
    body = await read_body(request)
    seconds = body.get("advance_seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidRequestError("advance_seconds must be a number", param="advance_seconds")
    if not math.isfinite(seconds) or not 0 <= seconds <= _MAX_ADVANCE_SECONDS:
        raise InvalidRequestError(
            "advance_seconds must be between 0 and ten years", param="advance_seconds"
        )
    principal.require_admin()
    clock.advance(seconds)
    await svc.queue.expire_due()
    return json_response({"now": format_ts(clock.now())})
