"""The work queue: poll with instant wake-ups, the lease operations, expiry and stats."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from workyard.clock import Clock, Instant
from workyard.domain import work as wm
from workyard.domain.models import Environment, WorkItem, WorkState
from workyard.domain.pagination import Page, PageRequest, make_page
from workyard.errors import InvalidRequestError, NotFoundError, OverloadedError
from workyard.service.auth import Principal
from workyard.service.keeper import IndexKeeper
from workyard.service.notifier import Notifier
from workyard.service.readiness import ReadinessIndex
from workyard.store import Replace, Store, WorkChange, Write

__all__ = ["QueueStats", "WorkQueue"]

_CAS_ATTEMPTS = 20
_POLLERS_WINDOW_US = 30_000_000
_EXPIRE_BATCH = 500
_POLLER_FLUSH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int
    pending: int
    oldest_queued_at: Instant | None
    workers_polling: int


class WorkQueue:
    """Owns every work-item write, so the readiness index and wake-ups stay exact."""

    def __init__(self, store: Store, clock: Clock, default_ttl: int) -> None:
        self.store = store
        self.clock = clock
        self.default_ttl = default_ttl
        self.index = ReadinessIndex()
        self.notifier = Notifier()
        self._sweep_wake = asyncio.Event()
        self.keeper = IndexKeeper(
            self.index, self.notifier, self._sweep_wake.set, replicated=store.replicated
        )
        self._environments: dict[str, Environment] = {}
        self._pollers: dict[str, dict[str, Instant]] = {}
        self._unflushed: dict[tuple[str, str], Instant] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.draining = asyncio.Event()
        # Called with (before, after) for every work change this server commits (metrics).
        self.observers: list[Callable[[WorkItem | None, WorkItem | None], None]] = []
        clock.on_advance(self._on_clock_advance)

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.store.replicated:
            await self.store.follow(self.keeper)
            self._tasks.append(asyncio.create_task(self._flush_loop(), name="workyard-pollers"))
        else:
            self.index.load(await self.store.readiness_snapshot())
        self._tasks.append(asyncio.create_task(self._sweep_loop(), name="workyard-sweeper"))

    def drain(self) -> None:
        """The server is shutting down: blocked polls answer ``null`` now, streams end."""
        self.draining.set()
        self.notifier.notify_all()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _flush_loop(self) -> None:
        """Share who polled with the other replicas (stats' workers_polling), off the poll path."""
        rounds = 0
        while True:
            await asyncio.sleep(_POLLER_FLUSH_SECONDS)
            rounds += 1
            try:
                await self._flush_pollers()
                if rounds % 60 == 0:
                    await self.store.forget_pollers(self.clock.now() - 2 * _POLLERS_WINDOW_US)
            except Exception:  # the database is away; the entries wait for the next round
                continue

    async def _flush_pollers(self) -> None:
        seen, self._unflushed = self._unflushed, {}
        if not seen:
            return
        try:
            await self.store.record_pollers([(e, w, t) for (e, w), t in seen.items()])
        except BaseException:
            self._unflushed = seen | self._unflushed
            raise

    def _on_clock_advance(self) -> None:
        self._sweep_wake.set()
        self.notifier.notify_all()

    async def _sweep_loop(self) -> None:
        while True:
            self._sweep_wake.clear()
            try:
                await self.expire_due()
            except Exception:  # the store may be briefly unavailable; try again shortly
                await asyncio.sleep(0.5)
                continue
            deadline = self.index.next_deadline()
            delay = None if deadline is None else self.clock.real_delay(deadline)
            if not self.keeper.ready:  # replicated and the feed is down: check now and then
                delay = 1.0 if delay is None else min(delay, 1.0)
            await Notifier.wait(self._sweep_wake, delay)

    # environments (cached: their type never changes) -------------------------------------------
    def forget_environment(self, environment_id: str) -> None:
        self._environments.pop(environment_id, None)

    async def environment(self, environment_id: str) -> Environment:
        """A work route's environment, checked in spec order (404, then 400 if not self_hosted)."""
        env = self._environments.get(environment_id)
        if env is None:
            env = await self.store.get_environment(environment_id)
            if env is None:
                raise NotFoundError(f"Environment {environment_id} not found.")
            self._environments[environment_id] = env
        if not env.self_hosted:
            raise InvalidRequestError(
                "Work is only available for self_hosted environments.", param="environment_id"
            )
        return env

    async def _authorized_env(self, principal: Principal, environment_id: str) -> None:
        await self.environment(environment_id)
        principal.require_environment(environment_id)

    # writes ------------------------------------------------------------------------------------
    async def commit(
        self, writes: Sequence[Write], changes: Sequence[tuple[WorkItem | None, WorkItem | None]]
    ) -> bool:
        """Commit ``writes``, which change work items as ``(before, after)`` describes."""
        described = [WorkChange.of(before, after) for before, after in changes]
        self.keeper.before_commit(described)
        committed = await self.store.commit(writes, described)
        self.keeper.after_commit(described, committed)
        if committed:
            for observe in self.observers:
                for before, after in changes:
                    observe(before, after)
        return committed

    async def expire_due(self) -> None:
        """Persist every lease that has expired by now (cheap when the index says none has)."""
        while True:
            now = self.clock.now()
            deadline = self.index.next_deadline()
            if deadline is None or deadline > now:
                return
            due = await self.store.due_work(now, _EXPIRE_BATCH)
            for item in due:
                expired = replace(wm.expire(item, now), version=item.version + 1)
                await self.commit([Replace(expired, item.version)], [(item, expired)])
            if len(due) < _EXPIRE_BATCH:
                # Whatever the index still holds at or before now, the store no longer has.
                self.index.forget_due(now)
                return

    async def load(self, environment_id: str, work_id: str) -> WorkItem:
        """The item as it is now (expiry applied), or 404 if it is not in this environment."""
        await self.expire_due()
        item = await self.store.get_work(work_id)
        if item is None or item.environment_id != environment_id:
            raise NotFoundError(f"Work item {work_id} not found in environment {environment_id}.")
        return item

    async def mutate(
        self,
        principal: Principal,
        environment_id: str,
        work_id: str,
        operation: Callable[[WorkItem, Instant], WorkItem],
    ) -> WorkItem:
        """Load, apply a pure operation, compare-and-set; retry on a concurrent change."""
        await self._authorized_env(principal, environment_id)
        for _ in range(_CAS_ATTEMPTS):
            stored = await self.load(environment_id, work_id)
            now = self.clock.now()
            current = wm.expire(stored, now)
            new = operation(current, now)
            if new == stored:
                return stored
            new = replace(new, version=stored.version + 1)
            if await self.commit([Replace(new, stored.version)], [(stored, new)]):
                return new
        raise OverloadedError("The work item is changing too fast; retry.")

    # reads -------------------------------------------------------------------------------------
    async def get(self, principal: Principal, environment_id: str, work_id: str) -> WorkItem:
        await self._authorized_env(principal, environment_id)
        return wm.expire(await self.load(environment_id, work_id), self.clock.now())

    async def list(
        self,
        principal: Principal,
        environment_id: str,
        states: tuple[WorkState, ...] | None,
        page: PageRequest,
    ) -> Page[WorkItem]:
        await self._authorized_env(principal, environment_id)
        await self.expire_due()
        rows = await self.store.list_work(environment_id, states, page)
        return make_page(rows, page, lambda item: item.id)

    async def stats(self, principal: Principal, environment_id: str) -> QueueStats:
        await self._authorized_env(principal, environment_id)
        await self.expire_due()
        await self.keeper.settled(environment_id)
        if not self.keeper.ready:
            raise OverloadedError("The queue index is resynchronizing with the database; retry.")
        now = self.clock.now()
        depth, pending = self.index.counts(environment_id, now, wm.PENDING_WINDOW_MS)
        oldest = await self.store.oldest_queued_created_at(environment_id)
        return QueueStats(depth, pending, oldest, await self._count_pollers(environment_id, now))

    async def _count_pollers(self, environment_id: str, now: Instant) -> int:
        seen = self._pollers.get(environment_id, {})
        for worker, at in list(seen.items()):
            if now - at >= _POLLERS_WINDOW_US:
                del seen[worker]
        workers = set(seen)
        if self.store.replicated:
            await self._flush_pollers()
            workers |= await self.store.recent_pollers(environment_id, now - _POLLERS_WINDOW_US)
        return len(workers)

    # poll --------------------------------------------------------------------------------------
    async def poll(
        self,
        principal: Principal,
        environment_id: str,
        worker_id: str | None,
        block_ms: int | None,
        reclaim_ms: int,
    ) -> WorkItem | None:
        """Deliver the oldest deliverable item, waiting up to ``block_ms`` for one to appear."""
        await self._authorized_env(principal, environment_id)
        if worker_id is not None:
            now = self.clock.now()
            self._pollers.setdefault(environment_id, {})[worker_id] = now
            if self.store.replicated:
                self._unflushed[(environment_id, worker_id)] = now
        give_up = time.monotonic() + (block_ms or 0) / 1000
        while True:
            wake = self.notifier.event(environment_id)
            item = await self._try_claim(environment_id, worker_id, reclaim_ms)
            if item is not None:
                return item
            remaining = give_up - time.monotonic()
            if remaining <= 0 or self.draining.is_set():
                return None
            ready_at = self.index.next_ready_at(environment_id, reclaim_ms)
            delay = None if ready_at is None else self.clock.real_delay(ready_at)
            await Notifier.wait(wake, remaining if delay is None else min(remaining, delay))

    async def _try_claim(
        self, environment_id: str, worker_id: str | None, reclaim_ms: int
    ) -> WorkItem | None:
        now = self.clock.now()
        if self.index.next_deadline() is not None:
            await self.expire_due()
        if not self.keeper.may_deliver(environment_id, now, reclaim_ms):
            return None
        marker = [WorkChange("", environment_id, None, None)]
        self.keeper.before_commit(marker)
        claimed = await self.store.claim_work(
            environment_id, now - reclaim_ms * 1000, worker_id, now
        )
        if claimed is None:
            self.keeper.after_commit(marker, committed=False)
            return None
        before = replace(claimed, delivered_at=None, delivered_to=None)
        self.keeper.after_commit([WorkChange.of(before, claimed)], committed=True)
        return claimed
