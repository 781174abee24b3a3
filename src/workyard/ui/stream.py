"""The session page's live events: the API's SSE stream, each event cut to what the page shows."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from workyard.api import wire
from workyard.api.inputs import path_id, query_str
from workyard.api.routes.common import json_response
from workyard.api.sse import EventStreamResponse
from workyard.domain.models import Event
from workyard.errors import InvalidRequestError, NotFoundError
from workyard.ids import is_id
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.ui import text

__all__ = ["event_card", "events", "full_event"]


def event_card(event: Event) -> dict[str, Any]:
    """What the page draws of one event (its text cut to ``text.TEXT_LIMIT`` characters)."""
    shown = text.card(event)
    return {
        "id": shown.id,
        "type": shown.type,
        "time": text.timestamp(shown.processed_at),
        "text": shown.text,
        "cut": shown.cut,
        "full": shown.full,
    }


async def events(
    request: Request, svc: Services, principal: Principal, session_id: str
) -> Response:
    after = request.headers.get("last-event-id") or query_str(request, "after_id")
    if after is not None and not is_id("evt", after):
        raise InvalidRequestError(
            "Last-Event-ID must be an event id (evt_…)", param="Last-Event-ID"
        )
    sid = path_id("sess", session_id, "Session")
    await svc.sessions.get(principal, sid)

    async def fetch(after_id: str | None, limit: int) -> Any:
        return await svc.events.after(sid, after_id, limit)

    response = EventStreamResponse(
        fetch=fetch,
        render=event_card,
        hub=svc.events.hub,
        draining=svc.queue.draining,
        session_id=sid,
        after=after,
        keepalive_seconds=svc.settings.sse_keepalive_seconds,
        credential=lambda: svc.tokens.watch(principal),
    )
    return request.app.state.metrics.queue.streams.track(response)  # type: ignore[no-any-return]


async def full_event(
    svc: Services, principal: Principal, session_id: str, event_id: str
) -> Response:
    sid = path_id("sess", session_id, "Session")
    eid = path_id("evt", event_id, "Event")
    await svc.sessions.get(principal, sid)
    event = await svc.store.get_event(sid, eid)
    if event is None:
        raise NotFoundError(f"Event {eid} not found in session {sid}.")
    return json_response(wire.event(event))
