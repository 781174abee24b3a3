"""Retention: delete stopped work items, and archived or deleted sessions with their events and
work, older than ``WORKYARD_RETENTION_DAYS``, in small batches so the hot path never waits long.

Every batch is one short statement over an id range; between batches the task rests on the event
loop (SQLite runs on it), so a long pass takes a bounded share of the server, never a stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from workyard.clock import Clock, Instant
from workyard.service.wakeup import Wakeup
from workyard.store import Store
from workyard.store.base import PRUNE_END

__all__ = ["PRUNED", "Retention"]

log = logging.getLogger("workyard.retention")

# Rows this process has deleted, per table (``workyard_pruned_rows_total``).
PRUNED: dict[str, int] = {"work_items": 0, "sessions": 0, "events": 0}
_DAY_US = 86_400 * 1_000_000
_PASS_INTERVAL_SECONDS = 3600.0


class Retention:
    def __init__(
        self, store: Store, clock: Clock, days: int, *, batch: int = 500, idle: float = 4.0
    ) -> None:
        self.store = store
        self.clock = clock
        self.days = days
        self.batch = batch
        # After each batch, rest ``idle`` times as long as it took: the pass takes at most
        # 1 / (1 + idle) of the event loop (20 % by default); 0 runs flat out (``db prune``).
        self.idle = idle
        self._since = time.perf_counter()
        self.passes = 0
        self._wake = Wakeup()
        self._task: asyncio.Task[None] | None = None
        clock.on_advance(self._wake.set)

    def cutoff(self, days: float | None = None) -> Instant:
        return self.clock.now() - int((self.days if days is None else days) * _DAY_US)

    async def prune(self, before: Instant) -> dict[str, int]:
        """One full pass: delete everything older than ``before``; the rows deleted per table."""
        counts = {"work_items": 0, "sessions": 0, "events": 0}
        self._since = time.perf_counter()
        after = ""
        while after != PRUNE_END:
            upto = await self.store.prune_scan("sessions", after, self.batch)
            ids = await self.store.prunable_sessions(before, after, upto)
            if ids:
                await self._drop_sessions(ids, counts)
            after = upto
            await self._yield()
        after = ""
        while after != PRUNE_END:
            upto = await self.store.prune_scan("work_items", after, self.batch)
            self._count(counts, "work_items", await self.store.prune_work(before, after, upto))
            after = upto
            await self._yield()
        return counts

    async def _drop_sessions(self, ids: list[str], counts: dict[str, int]) -> None:
        while True:  # a session's events may be many: a batch at a time
            n = await self.store.prune_session_part("events", ids, self.batch)
            self._count(counts, "events", n)
            if n < self.batch:
                break
            await self._yield()
        self._count(counts, "work_items", await self.store.prune_session_part("work", ids, 0))
        self._count(counts, "sessions", await self.store.prune_session_part("rows", ids, 0))

    @staticmethod
    def _count(counts: dict[str, int], table: str, n: int) -> None:
        counts[table] += n
        PRUNED[table] += n

    async def _yield(self) -> None:
        busy = time.perf_counter() - self._since
        await asyncio.sleep(busy * self.idle)
        self._since = time.perf_counter()

    # the background task -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self.days > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="workyard-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()  # reaches the task even if a wake-up lands in the same turn
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                counts = await self.prune(self.cutoff())
            except Exception as exc:  # the database is away: try again at the next pass
                log.warning("retention pass failed: %s", exc)
            else:
                if any(counts.values()):
                    log.info("retention pruned %s", counts)
            self.passes += 1
            await self._wake.sleep(_PASS_INTERVAL_SECONDS)
