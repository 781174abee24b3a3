"""``PostgresStore``'s event reads: pages of a session's log, unbounded or within a byte budget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from workyard.domain.models import Event
from workyard.domain.pagination import PageRequest
from workyard.store import codec
from workyard.store.base import EventFilter
from workyard.store.browse import event_params
from workyard.store.postgres.queries import Q
from workyard.store.window import Window, window

__all__ = ["EventReads"]


class EventReads:
    """Mixed into ``PostgresStore`` (which provides these two)."""

    _all: Callable[..., Awaitable[list[Any]]]

    def _conn(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        raise NotImplementedError

    async def list_events(
        self, session_id: str, flt: EventFilter, page: PageRequest, descending: bool
    ) -> list[Event]:
        w = window(page, descending=descending)
        name = "list_events_desc" if w.scan_descending else "list_events_asc"
        rows: list[Event] = await self._all(
            name, codec.event_from_row, **_params(session_id, flt, w)
        )
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
        q = Q["list_events_page_desc" if w.scan_descending else "list_events_page_asc"]
        params = _params(session_id, flt, w) | {"max_bytes": max_bytes}
        async with self._conn() as conn:
            found = await conn.fetch(q.sql, *q.args(params))
        rows = [codec.event_from_row(r) for r in found if r["body"] is not None]
        return (rows[::-1] if w.reverse else rows), len(rows) < len(found)


def _params(session_id: str, flt: EventFilter, w: Window) -> dict[str, Any]:
    return event_params(session_id, flt, w, list)
