"""``SqliteStore``'s dashboard reads: searches and charts, each a bounded keyset or scan."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from workyard.clock import Instant
from workyard.domain.models import Event, Session, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store import codec
from workyard.store.base import SessionFilter, SessionSearch
from workyard.store.browse import scan_bounds, search_params
from workyard.store.window import Window, window

__all__ = ["SqliteBrowsing"]

T = TypeVar("T")


def _json_or_none(values: Sequence[Any] | None) -> str | None:
    return None if values is None else json.dumps(list(values))


class SqliteBrowsing:
    """Mixed into ``SqliteStore``, which provides ``_all`` and ``_one``."""

    def _all(self, name: str, conv: Callable[[Any], T], **params: Any) -> list[T]:
        raise NotImplementedError

    def _one(self, name: str, conv: Callable[[Any], T], **params: Any) -> T | None:
        raise NotImplementedError

    def _scan(self, name: str, w: Window, scan: int, **params: Any) -> tuple[str, str, str | None]:
        """The window cut to its first ``scan`` rows (``scan_lo``, ``scan_hi``, the last row)."""
        suffix = "desc" if w.scan_descending else "asc"
        found = self._all(
            f"{name}_{suffix}", lambda r: str(r[0]), lo=w.lo, hi=w.hi, offset=scan - 1, **params
        )
        return scan_bounds(w, found[0] if found else None)

    async def search_sessions(
        self, flt: SessionFilter, search: SessionSearch, page: PageRequest, scan: int
    ) -> tuple[list[Session], str | None]:
        w = window(page, descending=True)
        envs = _json_or_none(flt.environment_ids)
        scan_lo, scan_hi, end = self._scan(
            "session_scan_end", w, scan, environment_id=flt.environment_id, environment_ids=envs
        )
        rows = self._all(
            "search_sessions_desc" if w.scan_descending else "search_sessions_asc",
            codec.session_from_row,
            **search_params(flt, search, w, (scan_lo, scan_hi), _json_or_none),
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
        scan_lo, scan_hi, end = self._scan("work_scan_end", w, scan, environment_id=environment_id)
        rows = self._all(
            "list_work_held_desc" if w.scan_descending else "list_work_held_asc",
            codec.work_from_row,
            environment_id=environment_id,
            worker_id=worker_id,
            states=_json_or_none(None if states is None else [s.value for s in states]),
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
        rows = self._all("session_titles", tuple, ids=json.dumps(list(session_ids)))
        return {str(r[0]): r[1] for r in rows}

    async def get_event(self, session_id: str, event_id: str) -> Event | None:
        return self._one("get_event", codec.event_from_row, session_id=session_id, id=event_id)

    async def finished_work(
        self, environment_id: str, since: Instant, limit: int
    ) -> list[WorkItem]:
        return self._all(
            "finished_work", codec.work_from_row, environment_id=environment_id, since=since,
            limit=limit,
        )  # fmt: skip

    async def acknowledged_work(
        self, environment_id: str, since: Instant, limit: int
    ) -> list[WorkItem]:
        return self._all(
            "acknowledged_work", codec.work_from_row, environment_id=environment_id, since=since,
            limit=limit,
        )  # fmt: skip

    async def poller_times(self, environment_id: str, since: Instant) -> dict[str, Instant]:
        return {}  # one server: the queue's own memory is the whole answer
