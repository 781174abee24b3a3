"""Session events: validation of what clients send. Pure.

Input types (``user.*``) come from users; worker types (``agent.*``, ``session.error``,
``system.message``) come from workers. Sizes are bounded per event and per request
(``domain/limits.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workyard.domain.limits import (
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_REQUEST,
    MAX_EVENTS_REQUEST_BYTES,
    json_size_within,
)
from workyard.errors import InvalidRequestError

__all__ = [
    "MAX_EVENTS_PER_REQUEST",
    "MAX_EVENT_BYTES",
    "USER_TYPES",
    "WORKER_TYPES",
    "EventDraft",
    "validate_events",
]

USER_TYPES = frozenset({"user.message", "user.interrupt"})
WORKER_TYPES = frozenset(
    {"agent.message", "agent.tool_use", "agent.tool_result", "session.error", "system.message"}
)
_CONTENT_TYPES = frozenset({"user.message", "agent.message", "system.message"})


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A validated event without id, session or time yet."""

    type: str
    fields: dict[str, Any]


def _bad(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def validate_events(raw: Any, param: str = "events") -> list[EventDraft]:
    if not isinstance(raw, list):
        raise _bad(f"{param} must be an array of events", param)
    if not 1 <= len(raw) <= MAX_EVENTS_PER_REQUEST:
        raise _bad(f"{param} must hold 1 to {MAX_EVENTS_PER_REQUEST} events", param)
    drafts: list[EventDraft] = []
    left = MAX_EVENTS_REQUEST_BYTES
    for n, item in enumerate(raw):
        draft, size = _event(item, f"{param}[{n}]")
        left -= size
        if left < 0:
            raise _bad(
                f"{param} may hold at most {MAX_EVENTS_REQUEST_BYTES // 2**20} MiB of events "
                "in one request",
                param,
            )
        drafts.append(draft)
    return drafts


def _event(raw: Any, param: str) -> tuple[EventDraft, int]:
    if not isinstance(raw, dict):
        raise _bad(f"{param} must be an object with a type", param)
    kind = raw.get("type")
    if not isinstance(kind, str) or (kind not in USER_TYPES and kind not in WORKER_TYPES):
        known = ", ".join(sorted(USER_TYPES | WORKER_TYPES))
        raise _bad(f"{param}.type must be one of {known}", f"{param}.type")
    size = json_size_within(raw, MAX_EVENT_BYTES)
    if size is None:
        raise _bad(f"{param} is larger than {MAX_EVENT_BYTES // 2**20} MiB as JSON", param)
    return EventDraft(kind, _fields(kind, raw, param)), size


def _fields(kind: str, raw: dict[str, Any], param: str) -> dict[str, Any]:
    if kind in _CONTENT_TYPES:
        return {"content": _content(raw.get("content"), f"{param}.content")}
    if kind == "user.interrupt":
        return {}
    if kind == "agent.tool_use":
        return {"name": _text(raw.get("name"), f"{param}.name"), "input": raw.get("input", {})}
    if kind == "agent.tool_result":
        is_error = raw.get("is_error", False)
        if not isinstance(is_error, bool):
            raise _bad(f"{param}.is_error must be a boolean", f"{param}.is_error")
        content = raw.get("content", [])
        return {
            "tool_use_id": _text(raw.get("tool_use_id"), f"{param}.tool_use_id"),
            "content": _content(content, f"{param}.content", allow_empty=True),
            "is_error": is_error,
        }
    error = raw.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        raise _bad(f"{param}.error must be an object with a message string", f"{param}.error")
    return {"error": error}


def _text(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(f"{param} must be a non-empty string", param)
    return value


def _content(value: Any, param: str, *, allow_empty: bool = False) -> list[dict[str, Any]]:
    """Content blocks; a plain string becomes one text block."""
    if isinstance(value, str):
        if not value and not allow_empty:
            raise _bad(f"{param} must not be empty", param)
        return [{"type": "text", "text": value}] if value else []
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _bad(f"{param} must be a non-empty array of content blocks or a string", param)
    for n, block in enumerate(value):
        where = f"{param}[{n}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _bad(f"{where} must be a content block with a type", where)
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise _bad(f"{where}.text must be a string", f"{where}.text")
    return value
