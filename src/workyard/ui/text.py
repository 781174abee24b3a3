"""How the dashboard writes things down: timestamps (UTC, said so), durations, cut-down text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from workyard.clock import Instant, format_age, format_ts
from workyard.domain.models import Event

__all__ = [
    "TEXT_LIMIT",
    "EventCard",
    "card",
    "cut",
    "duration",
    "event_text",
    "relative",
    "time_tag",
    "timestamp",
]

TEXT_LIMIT = 2048  # characters of one event's text on a page; the rest is behind a link
_US = 1_000_000


def timestamp(instant: Instant | None) -> str:
    """``2026-11-30 09:12:06 UTC`` for tables; ``""`` for none."""
    return "" if instant is None else format_ts(instant)[:19].replace("T", " ") + " UTC"


def time_tag(instant: Instant | None) -> Markup:
    """``<time datetime="…Z">2026-11-30 09:12:06 UTC</time>``; nothing for none."""
    if instant is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(format_ts(instant), timestamp(instant))


def duration(start: Instant | None, end: Instant | None) -> str:
    """``42s``, ``3m12s``, ``2h05m`` from ``start`` to ``end``; ``""`` without a start."""
    return "" if start is None or end is None else format_age(start, end)


def relative(instant: Instant | None, now: Instant) -> str:
    """``12s ago`` for the past, ``in 48s`` for the future; ``""`` for none."""
    if instant is None:
        return ""
    if instant > now:
        return f"in {duration(now, instant)}"
    return f"{duration(instant, now)} ago"


def cut(text: str, limit: int = TEXT_LIMIT) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    return (text, False) if len(text) <= limit else (text[:limit], True)


def event_text(event: Event) -> str:
    """What a person reads of an event: its text blocks, its error, or its fields as JSON."""
    fields: dict[str, Any] = event.fields
    content = fields.get("content")
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict)]
        if any(texts):
            return "\n".join(t for t in texts if isinstance(t, str))
    if isinstance(content, str):
        return content
    error = fields.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if event.type == "agent.tool_use":
        return f"{fields.get('name', '')} {json.dumps(fields.get('input'), ensure_ascii=False)}"
    return json.dumps(fields, ensure_ascii=False) if fields else ""


@dataclass(frozen=True, slots=True)
class EventCard:
    """What a page shows of one event: its text cut to ``TEXT_LIMIT`` characters."""

    id: str
    session_id: str
    type: str
    processed_at: Instant
    text: str
    cut: bool

    @property
    def full(self) -> str:
        """Where the whole event is, as JSON."""
        return f"/ui/sessions/{self.session_id}/events/{self.id}"


def card(event: Event) -> EventCard:
    shown, was_cut = cut(event_text(event))
    return EventCard(event.id, event.session_id, event.type, event.processed_at, shown, was_cut)
