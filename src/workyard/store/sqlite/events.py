"""``SqliteStore``'s event reads: pages of a session's log, unbounded or within a byte budget."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from workyard.domain.models import Event
from workyard.domain.pagination import PageRequest
from workyard.store import codec
from workyard.store.base import EventFilter
from workyard.store.browse import event_params
from workyard.store.sql import load_queries
from workyard.store.window import Window, window

__all__ = ["EventReads"]

Q = load_queries("workyard.store.sqlite")


class EventReads:
    """Mixed into ``SqliteStore``, which provides ``_db``."""

    @property
    def _db(self) -> Any:  # overridden by SqliteStore
        raise NotImplementedError

    async def list_events(
        self, session_id: str, flt: EventFilter, page: PageRequest, descending: bool
    ) -> list[Event]:
        w = window(page, descending=descending)
        name = "list_events_desc" if w.scan_descending else "list_events_asc"
        found = self._db.execute(Q[name], _params(session_id, flt, w)).fetchall()
        rows = [codec.event_from_row(r) for r in found]
        return rows[::-1] if w.reverse else rows

    async def list_event_page(
        self,
        session_id: str,
        flt: EventFilter,
        page: PageRequest,
        descending: bool,
        max_bytes: int,
    ) -> tuple[list[Event], bool]:
        w = window(page, descending=descending)
        name = "list_events_page_desc" if w.scan_descending else "list_events_page_asc"
        params = _params(session_id, flt, w) | {"max_bytes": max_bytes}
        found = self._db.execute(Q[name], params).fetchall()
        rows = [codec.event_from_row(r) for r in found if r["body"] is not None]
        return (rows[::-1] if w.reverse else rows), len(rows) < len(found)


def _json(values: Sequence[str]) -> str:
    return json.dumps(list(values))


def _params(session_id: str, flt: EventFilter, w: Window) -> dict[str, Any]:
    return event_params(session_id, flt, w, _json)
