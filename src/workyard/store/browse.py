"""Query parameters shared by both backends' dashboard searches and event pages."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from workyard.store.base import EventFilter, SessionFilter, SessionSearch
from workyard.store.window import Window

__all__ = ["ListParam", "event_params", "like_pattern", "scan_bounds", "search_params"]

# How a backend passes a list of strings to a query: a list (asyncpg) or JSON text (SQLite).
ListParam = Callable[[Sequence[str]], Any]

_LOWEST, _HIGHEST = "", "~"


def like_pattern(text: str | None) -> str | None:
    """A ``LIKE … ESCAPE '\\'`` pattern: ``text`` anywhere, its wildcards taken literally."""
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def scan_bounds(w: Window, end: str | None) -> tuple[str, str, str | None]:
    """``(scan_lo, scan_hi, end)``: the ids (inclusive) a bounded search may look at in window
    ``w``, given ``end``, the last row of its scan (``None``: the window ends first)."""
    if end is None:
        return _LOWEST, _HIGHEST, None
    return (end, _HIGHEST, end) if w.scan_descending else (_LOWEST, end, end)


def search_params(
    flt: SessionFilter, search: SessionSearch, w: Window, scan: tuple[str, str], as_list: ListParam
) -> dict[str, Any]:
    """The parameters of ``search_sessions_asc|desc`` on either backend."""
    envs = None if flt.environment_ids is None else as_list(flt.environment_ids)
    states = None if flt.states is None else as_list([s.value for s in flt.states])
    return {
        "lo": w.lo,
        "hi": w.hi,
        "limit": w.limit,
        "environment_id": flt.environment_id,
        "environment_ids": envs,
        "include_archived": flt.include_archived,
        "states": states,
        "title_like": like_pattern(search.title),
        "metadata": json.dumps(dict(search.metadata)) if search.metadata else None,
        "scan_lo": scan[0],
        "scan_hi": scan[1],
    }


def event_params(
    session_id: str, flt: EventFilter, w: Window, as_list: ListParam
) -> dict[str, Any]:
    """The parameters of ``list_events*`` and ``list_events_page*`` on either backend."""
    return {
        "session_id": session_id,
        "lo": w.lo,
        "hi": w.hi,
        "limit": w.limit,
        "types": None if flt.types is None else as_list(flt.types),
        "created_gt": flt.created_gt,
        "created_gte": flt.created_gte,
        "created_lt": flt.created_lt,
        "created_lte": flt.created_lte,
    }
