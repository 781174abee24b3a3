"""``/sessions/{id}/events``, ``/events/stream`` (SSE) and ``/sessions/{id}/cancel``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from workyard.api import wire
from workyard.api.inputs import path_id, query_str, query_ts, read_body
from workyard.api.router import Routes
from workyard.api.routes.common import authenticate, json_response, pagination, services
from workyard.api.sse import EventStreamResponse
from workyard.domain.events import USER_TYPES, WORKER_TYPES, validate_events
from workyard.errors import InvalidRequestError
from workyard.ids import is_id
from workyard.store import EventFilter

__all__ = ["router"]

router = Routes()


@router.post("/sessions/{session_id}/events")
async def send_events(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    body = await read_body(request, required=True)
    if "events" not in body:
        raise InvalidRequestError("events is required", param="events")
    drafts = validate_events(body["events"])
    sid = path_id("sess", session_id, "Session")
    events = await services(request).events.send(principal, sid, drafts)
    return json_response({"data": [wire.event(e) for e in events]})


def _types(request: Request) -> tuple[str, ...] | None:
    values = request.query_params.getlist("types[]") + request.query_params.getlist("types")
    if not values:
        return None
    types = tuple(t for value in values for t in value.split(","))
    known = USER_TYPES | WORKER_TYPES
    for kind in types:
        if kind not in known:
            raise InvalidRequestError(
                f"types[] must be among {', '.join(sorted(known))}", param="types[]"
            )
    return types


@router.get("/sessions/{session_id}/events")
async def list_events(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    page = pagination(request, "evt")
    order = query_str(request, "order") or "asc"
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order must be asc or desc", param="order")
    flt = EventFilter(
        types=_types(request),
        created_gt=query_ts(request, "created_at[gt]"),
        created_gte=query_ts(request, "created_at[gte]"),
        created_lt=query_ts(request, "created_at[lt]"),
        created_lte=query_ts(request, "created_at[lte]"),
    )
    sid = path_id("sess", session_id, "Session")
    result = await services(request).events.list_events(principal, sid, flt, page, order == "desc")
    return json_response(wire.page(result, wire.event, lambda e: e.id))


@router.get("/sessions/{session_id}/events/stream")
async def stream_events(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    after = request.headers.get("last-event-id") or query_str(request, "after_id")
    if after is not None and not is_id("evt", after):
        raise InvalidRequestError(
            "Last-Event-ID must be an event id (evt_…)", param="Last-Event-ID"
        )
    sid = path_id("sess", session_id, "Session")
    svc = services(request)
    await svc.sessions.get(principal, sid)

    async def fetch(after_id: str | None, limit: int) -> Any:
        return await svc.events.after(sid, after_id, limit)

    stream = EventStreamResponse(
        fetch=fetch,
        render=wire.event,
        hub=svc.events.hub,
        draining=svc.queue.draining,
        session_id=sid,
        after=after,
        keepalive_seconds=svc.settings.sse_keepalive_seconds,
        credential=lambda: svc.tokens.watch(principal),
    )
    return request.app.state.metrics.queue.streams.track(stream)  # type: ignore[no-any-return]


@router.post("/sessions/{session_id}/cancel")
async def cancel_session(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    await read_body(request)
    sid = path_id("sess", session_id, "Session")
    result = await services(request).events.cancel(principal, sid)
    body = {"id": sid, "type": "session", "status": "canceling"}
    return json_response(body, 202 if result.accepted else 200)
