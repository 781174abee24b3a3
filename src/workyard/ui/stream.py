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


_BATCH = 10  # events read whole at a time; each is cut down before the next batch is read
_CARD = "card"


def event_card(event: Event) -> dict[str, Any]:
    """What the page draws of one event (its text cut to ``text.TEXT_LIMIT`` characters)."""
    shown = event.fields.get(_CARD)
    if not isinstance(shown, text.EventCard):
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

    async def fetch(after_id: str | None, limit: int) -> list[Event] | None:
        """Up to ``limit`` events after ``after_id``, read ``_BATCH`` at a time and each kept only
        as its card: catching up on a session of huge events never holds many of them whole."""
        slim: list[Event] = []
        while len(slim) < limit:
            step = min(_BATCH, limit - len(slim))
            batch = await svc.events.after(sid, after_id, step)
            if batch is None:
                return slim or None
            slim += [_slim(e) for e in batch]
            if len(batch) < step:
                break
            after_id = batch[-1].id
        return slim

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


def _slim(event: Event) -> Event:
    """The event with its fields replaced by its card (what the stream writes of it)."""
    return Event(
        event.id, event.session_id, event.type, event.processed_at, {_CARD: text.card(event)}
    )


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
