"""Who polled each environment, and when: ``workers_polling`` in stats and the dashboard's view.

Each server remembers its own pollers; on a replicated store it also shares them with the other
replicas in batches (``flush``, once a second, off the poll path) and asks the store for theirs.
"""

from __future__ import annotations

import asyncio

from workyard.clock import Clock, Instant
from workyard.store import Store

__all__ = ["WINDOW_US", "Pollers"]

WINDOW_US = 30_000_000  # a worker counts as polling for 30 s after its last poll
_FLUSH_SECONDS = 1.0


class Pollers:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._seen: dict[str, dict[str, Instant]] = {}
        self._unflushed: dict[tuple[str, str], Instant] = {}

    def saw(self, environment_id: str, worker_id: str | None) -> None:
        if worker_id is not None:
            now = self.clock.now()
            self._seen.setdefault(environment_id, {})[worker_id] = now
            if self.store.replicated:
                self._unflushed[(environment_id, worker_id)] = now

    async def count(self, environment_id: str, now: Instant) -> int:
        seen = self._seen.get(environment_id, {})
        for worker, at in list(seen.items()):
            if now - at >= WINDOW_US:
                del seen[worker]
        workers = set(seen)
        if self.store.replicated:
            await self.flush()
            workers |= await self.store.recent_pollers(environment_id, now - WINDOW_US)
        return len(workers)

    async def times(self, environment_id: str) -> dict[str, Instant]:
        """Who polled in the window, and when last."""
        since = self.clock.now() - WINDOW_US
        seen = {w: t for w, t in self._seen.get(environment_id, {}).items() if t > since}
        if self.store.replicated:
            await self.flush()
            for worker, at in (await self.store.poller_times(environment_id, since)).items():
                seen[worker] = max(at, seen.get(worker, at))
        return seen

    async def flush(self) -> None:
        seen, self._unflushed = self._unflushed, {}
        if not seen:
            return
        try:
            await self.store.record_pollers([(e, w, t) for (e, w), t in seen.items()])
        except BaseException:
            self._unflushed = seen | self._unflushed
            raise

    async def flush_loop(self) -> None:
        """Share who polled with the other replicas, off the poll path (replicated stores)."""
        rounds = 0
        while True:
            await asyncio.sleep(_FLUSH_SECONDS)
            rounds += 1
            try:
                await self.flush()
                if rounds % 60 == 0:
                    await self.store.forget_pollers(self.clock.now() - 2 * WINDOW_US)
            except Exception:  # the database is away; the entries wait for the next round
                continue
