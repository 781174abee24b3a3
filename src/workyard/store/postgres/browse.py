"""``PostgresStore``'s dashboard reads: searches and charts, each a bounded keyset or scan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from workyard.clock import Instant
from workyard.domain.models import Event, Session, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store import codec
from workyard.store.base import SessionFilter, SessionSearch
from workyard.store.browse import scan_bounds, search_params
from workyard.store.window import Window, window

__all__ = ["PostgresBrowsing"]


def _values(states: tuple[WorkState, ...] | None) -> list[str] | None:
    return None if states is None else [s.value for s in states]


class PostgresBrowsing:
    """Mixed into ``PostgresStore``, which provides ``_all`` and ``_one``."""

    _all: Callable[..., Awaitable[list[Any]]]
    _one: Callable[..., Awaitable[Any]]

    async def _scan(
        self, name: str, w: Window, scan: int, **params: Any
    ) -> tuple[str, str, str | None]:
        """The window cut to its first ``scan`` rows (``scan_lo``, ``scan_hi``, the last row)."""
        suffix = "desc" if w.scan_descending else "asc"
        found = await self._all(
            f"{name}_{suffix}", lambda r: str(r[0]), lo=w.lo, hi=w.hi, offset=scan - 1, **params
        )
        return scan_bounds(w, found[0] if found else None)

    async def search_sessions(
        self, flt: SessionFilter, search: SessionSearch, page: PageRequest, scan: int
    ) -> tuple[list[Session], str | None]:
        w = window(page, descending=True)
        envs = None if flt.environment_ids is None else list(flt.environment_ids)
        scan_lo, scan_hi, end = await self._scan(
            "session_scan_end", w, scan, environment_id=flt.environment_id, environment_ids=envs
        )
        rows: list[Session] = await self._all(
            "search_sessions_desc" if w.scan_descending else "search_sessions_asc",
            codec.session_from_row,
            **search_params(flt, search, w, (scan_lo, scan_hi), list),
        )
        return (rows[::-1] if w.reverse else rows), end

    async def list_work_held(
        self,
        environment_id: str,
        worker_id: str,
        states: tuple[WorkState, ...] | None,
        page: PageRequest,
        scan: int,
    ) -> tuple[list[WorkItem], str | None]:
        w = window(page, descending=False)
        scan_lo, scan_hi, end = await self._scan(
            "work_scan_end", w, scan, environment_id=environment_id
        )
        rows: list[WorkItem] = await self._all(
            "list_work_held_desc" if w.scan_descending else "list_work_held_asc",
            codec.work_from_row,
            environment_id=environment_id,
            worker_id=worker_id,
            states=_values(states),
            lo=w.lo,
            hi=w.hi,
            limit=w.limit,
            scan_lo=scan_lo,
            scan_hi=scan_hi,
        )
        return (rows[::-1] if w.reverse else rows), end

    async def session_titles(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        if not session_ids:
            return {}
        rows = await self._all("session_titles", tuple, ids=list(session_ids))
        return {str(r[0]): r[1] for r in rows}

    async def get_event(self, session_id: str, event_id: str) -> Event | None:
        found: Event | None = await self._one(
            "get_event", codec.event_from_row, session_id=session_id, id=event_id
        )
        return found

    async def finished_work(
        self, environment_id: str, since: Instant, limit: int
    ) -> list[WorkItem]:
        rows: list[WorkItem] = await self._all(
            "finished_work", codec.work_from_row, environment_id=environment_id, since=since,
            limit=limit,
        )  # fmt: skip
        return rows

    async def acknowledged_work(
        self, environment_id: str, since: Instant, limit: int
    ) -> list[WorkItem]:
        rows: list[WorkItem] = await self._all(
            "acknowledged_work", codec.work_from_row, environment_id=environment_id, since=since,
            limit=limit,
        )  # fmt: skip
        return rows

    async def poller_times(self, environment_id: str, since: Instant) -> dict[str, Instant]:
        rows = await self._all("poller_times", tuple, environment_id=environment_id, since=since)
        return {str(r[0]): int(r[1]) for r in rows}
