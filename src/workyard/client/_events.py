"""Session events: the typed :class:`Event`, its decoders, and builders of events to send.

```python
from workyard.client import Client, user_message

with Client() as client:
    client.sessions.events.send(session_id, [user_message("fix the build")])
    for event in client.sessions.events.stream(session_id):
        print(event.type, event.text)
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workyard.client._models import (
    ResponseShapeError,
    _opt_str,
    _required_str,
    _str,
    expect_object,
)
from workyard.client._sse import ServerSentEvent

__all__ = [
    "INPUT_EVENT_TYPES",
    "WORKER_EVENT_TYPES",
    "Cancellation",
    "Event",
    "event_from_frame",
    "events_from_data",
    "text_blocks",
    "user_interrupt",
    "user_message",
]

INPUT_EVENT_TYPES = frozenset({"user.message", "user.interrupt"})
"""The event types a client sends."""
WORKER_EVENT_TYPES = frozenset(
    {"agent.message", "agent.tool_use", "agent.tool_result", "session.error", "system.message"}
)
"""The event types a worker sends."""


def text_blocks(text: str) -> list[dict[str, Any]]:
    """``content`` made of one text block."""
    return [{"type": "text", "text": text}]


def user_message(text: str) -> dict[str, Any]:
    """A ``user.message`` event to send."""
    return {"type": "user.message", "content": text_blocks(text)}


def user_interrupt() -> dict[str, Any]:
    """A ``user.interrupt`` event to send (asks the worker to stop the current turn)."""
    return {"type": "user.interrupt"}


def _blocks(value: object) -> tuple[dict[str, Any], ...]:
    """Content blocks: a plain string becomes one text block; non-object entries are skipped."""
    if value is None:
        return ()
    if isinstance(value, str):
        return ({"type": "text", "text": value},)
    if not isinstance(value, list):
        raise ResponseShapeError("'content' must be a list of blocks or a string")
    return tuple(dict(block) for block in value if isinstance(block, Mapping))


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ResponseShapeError(f"{key!r} must be a boolean or null")
    return value


@dataclass(frozen=True)
class Event:
    """One entry of a session's event log (``evt_…``).

    The common fields are always there; the type-specific ones are ``None``/empty when the type
    has none: ``content`` (``user.message``, ``agent.message``, ``agent.tool_result``,
    ``system.message``), ``name``/``input`` (``agent.tool_use``), ``tool_use_id``/``is_error``
    (``agent.tool_result``), ``error`` (``session.error``). ``raw`` is the event's JSON.
    """

    id: str
    type: str
    session_id: str
    processed_at: str
    content: tuple[dict[str, Any], ...] = ()
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    is_error: bool | None = None
    error: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def text(self) -> str:
        """The ``text`` of the text blocks of ``content``, joined with newlines."""
        texts = (b.get("text") for b in self.content if b.get("type", "text") == "text")
        return "\n".join(t for t in texts if isinstance(t, str))

    @property
    def error_message(self) -> str | None:
        """``error.message`` of a ``session.error`` (``None`` for other types)."""
        message = self.error.get("message") if self.error is not None else None
        return message if isinstance(message, str) else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        error = data.get("error")
        return cls(
            id=_required_str(data, "id"),
            type=_required_str(data, "type"),
            session_id=_str(data, "session_id"),
            processed_at=_str(data, "processed_at"),
            content=_blocks(data.get("content")),
            name=_opt_str(data, "name"),
            input=data.get("input"),
            tool_use_id=_opt_str(data, "tool_use_id"),
            is_error=_opt_bool(data, "is_error"),
            error=dict(expect_object(error, "'error'")) if error is not None else None,
            raw=dict(data),
        )


def events_from_data(value: object) -> list[Event]:
    """The events of a ``{"data": [ … ]}`` answer (``POST /sessions/{id}/events``)."""
    items = expect_object(value).get("data")
    if not isinstance(items, list):
        raise ResponseShapeError("'data' must be a list")
    return [Event.from_dict(expect_object(item, "event")) for item in items]


@dataclass(frozen=True)
class Cancellation:
    """The answer to ``POST /sessions/{id}/cancel``: ``status`` is ``"canceling"``."""

    id: str
    status: str
    type: str = "session"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cancellation:
        return cls(
            id=_required_str(data, "id"),
            status=_str(data, "status"),
            type=_str(data, "type", "session"),
            raw=dict(data),
        )


def event_from_frame(frame: ServerSentEvent) -> Event | None:
    """The event carried by one SSE frame (``ping`` frames are skipped: ``None``); ``id`` and
    ``type`` default to the frame's ``id:`` and ``event:`` lines."""
    if frame.event == "ping":
        return None
    data = dict(expect_object(json.loads(frame.data), "event"))
    if frame.id:
        data.setdefault("id", frame.id)
    if frame.event != "message":
        data.setdefault("type", frame.event)
    return Event.from_dict(data)
