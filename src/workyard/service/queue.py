"""The work queue: poll with instant wake-ups, the lease operations, expiry and stats."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from workyard.clock import Clock, Instant
from workyard.domain import work as wm
from workyard.domain.models import Environment, WorkItem, WorkState
from workyard.domain.pagination import Page, PageRequest, make_page
from workyard.errors import InvalidRequestError, NotFoundError, OverloadedError, WorkyardError
from workyard.service.auth import Principal
from workyard.service.keeper import IndexKeeper
from workyard.service.pollers import Pollers
from workyard.service.readiness import ReadinessIndex
from workyard.service.waiters import Waiters, Wake
from workyard.service.wakeup import Wakeup
from workyard.store import Replace, Store, WorkChange, Write, idempotency

__all__ = ["QueueStats", "WorkQueue"]

_CAS_ATTEMPTS = 20
_EXPIRE_BATCH = 500
_SPREAD = 0.1  # a blocked poll gives up somewhere in the last 10 % of its block_ms
_MIN_READY_DELAY = 0.001  # a readiness instant already past is looked at again after this
_OWED = (Wake.NOTIFY, Wake.READY)


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
        self.waiters = Waiters(self._eligible, self._ready_due)
        self._sweep_wake = Wakeup()
        self._expiring = asyncio.Lock()
        self.keeper = IndexKeeper(
            self.index, self.waiters, self._sweep_wake.set, replicated=store.replicated
        )
        self._environments: dict[str, Environment] = {}
        self.pollers_seen = Pollers(store, clock)
        self._tasks: list[asyncio.Task[None]] = []
        self.draining = asyncio.Event()
        # Called with (before, after) for every work change this server commits (metrics).
        self.observers: list[Callable[[WorkItem | None, WorkItem | None], None]] = []
        clock.on_advance(self._on_clock_advance)

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.store.replicated:
            await self.store.follow(self.keeper)
            flush = self.pollers_seen.flush_loop()
            self._tasks.append(asyncio.create_task(flush, name="workyard-pollers"))
        else:
            self.index.load(await self.store.readiness_snapshot())
        self._tasks.append(asyncio.create_task(self._sweep_loop(), name="workyard-sweeper"))

    @property
    def sweeper_sleeping(self) -> bool:
        """Whether the expiry sweeper is waiting for its next deadline (observability, tests)."""
        return self._sweep_wake.sleeping

    def drain(self) -> None:
        """The server is shutting down: blocked polls answer ``null`` now, streams end."""
        self.draining.set()
        self.waiters.notify_all()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _on_clock_advance(self) -> None:
        self._sweep_wake.set()
        self.waiters.notify_all()

    async def _sweep_loop(self) -> None:
        while True:
            self._sweep_wake.clear()
            try:
                await self.expire_due()
            except Exception:  # the store may be briefly unavailable; try again shortly
                await asyncio.sleep(0.5)
                continue
            deadline = self.keeper.next_deadline()
            delay = None if deadline is None else self.clock.real_delay(deadline)
            if not self.keeper.ready:  # replicated and the feed is down: check now and then
                delay = 1.0 if delay is None else min(delay, 1.0)
            await self._sweep_wake.sleep(delay)

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

    async def _authorized_item(
        self, principal: Principal, environment_id: str, work_id: str, own_item: bool
    ) -> None:
        """``own_item``: the operation is open to the item's own credential (spec check order)."""
        await self.environment(environment_id)
        if own_item:
            principal.require_work(environment_id, work_id)
        else:
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
        """Persist every lease that has expired by now (cheap when the index says none has).

        One pass at a time per server: two passes would race to requeue the same rows, and the
        loser's compare-and-set, though it changes nothing, keeps the row locked for a moment, in
        which a PostgreSQL claim (``SKIP LOCKED``) would not see the item just requeued.
        """
        if not self._lease_due():
            return
        async with self._expiring:
            while self._lease_due():
                now = self.clock.now()
                due = await self.store.due_work(now, _EXPIRE_BATCH)
                for item in due:
                    expired = replace(wm.expire(item, now), version=item.version + 1)
                    with idempotency.suspended():  # not the current request's own write
                        await self.commit([Replace(expired, item.version)], [(item, expired)])
                if len(due) < _EXPIRE_BATCH:
                    # Whatever the index still holds at or before now, the store no longer has.
                    self.keeper.forget_due(now)
                    return

    def _lease_due(self) -> bool:
        deadline = self.keeper.next_deadline()
        return deadline is not None and deadline <= self.clock.now()

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
        *,
        own_item: bool = False,
    ) -> WorkItem:
        """Load, apply a pure operation, compare-and-set; retry on a concurrent change.

        The first attempt may start from the store's hint of this server's own last write (no read):
        only a successful compare-and-set is trusted from it; an error or a no-op is re-checked
        against a fresh read.
        """
        await self._authorized_item(principal, environment_id, work_id, own_item)
        hint = self.store.cached_work(work_id)
        for _ in range(_CAS_ATTEMPTS):
            if hint is not None and hint.environment_id == environment_id:
                await self.expire_due()
                stored, speculative, hint = hint, True, None
            else:
                stored, speculative = await self.load(environment_id, work_id), False
            now = self.clock.now()
            current = wm.expire(stored, now)
            try:
                new = operation(current, now)
            except WorkyardError:
                if speculative:
                    continue
                raise
            if new == stored:
                if speculative:
                    continue
                return stored
            new = replace(new, version=stored.version + 1)
            if await self.commit([Replace(new, stored.version)], [(stored, new)]):
                return new
        raise OverloadedError("The work item is changing too fast; retry.")

    # reads -------------------------------------------------------------------------------------
    async def get(
        self, principal: Principal, environment_id: str, work_id: str, *, own_item: bool = False
    ) -> WorkItem:
        await self._authorized_item(principal, environment_id, work_id, own_item)
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
        return QueueStats(
            depth, pending, oldest, await self.pollers_seen.count(environment_id, now)
        )

    async def pollers(self, principal: Principal, environment_id: str) -> dict[str, Instant]:
        """Who polled in the ``workers_polling`` window, and when last (the dashboard)."""
        await self._authorized_env(principal, environment_id)
        return await self.pollers_seen.times(environment_id)

    # poll --------------------------------------------------------------------------------------
    async def poll(
        self,
        principal: Principal,
        environment_id: str,
        worker_id: str | None,
        block_ms: int | None,
        reclaim_ms: int,
        abandon: asyncio.Future[Any] | None = None,
    ) -> WorkItem | None:
        """Deliver the oldest deliverable item, waiting up to ``block_ms`` for one to appear.

        When ``abandon`` completes (the client went away, its credential died), the poll returns
        ``None`` at once without claiming; an item claimed just as it completed is released.
        """
        await self._authorized_env(principal, environment_id)
        self.pollers_seen.saw(environment_id, worker_id)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + spread(block_ms)
        owed: Wake | None = None  # a wake-up handed to this poll that it has not used yet
        try:
            while abandon is None or not abandon.done():
                token = self.waiters.token(environment_id)
                item = await self._try_claim(environment_id, worker_id, reclaim_ms)
                if owed is Wake.READY:
                    self._ready_used(environment_id)
                owed = None
                if item is not None:
                    if abandon is not None and abandon.done():
                        await self.release(item)
                        return None
                    return item
                if self.draining.is_set() or loop.time() >= give_up:
                    return None
                woken = await self._wait(environment_id, token, give_up, reclaim_ms, abandon)
                owed = woken if woken in _OWED else None
            return None
        finally:
            if owed is not None:  # woken, but never claimed: the wake-up goes to the next waiter
                self.waiters.wake_one(environment_id, owed)

    async def _wait(
        self,
        environment_id: str,
        token: tuple[int, int],
        give_up: float,
        reclaim_ms: int,
        abandon: asyncio.Future[Any] | None,
    ) -> Wake | None:
        """Wait for a wake-up, the deadline or ``abandon``; ``None``: check again at once."""
        self._arm_ready(environment_id, (reclaim_ms,))
        waiter = self.waiters.wait(environment_id, token, give_up, reclaim_ms, abandon)
        if waiter is None:
            return None
        try:
            return await waiter.future
        except asyncio.CancelledError:
            future = waiter.future
            if future.done() and not future.cancelled() and future.result() in _OWED:
                self.waiters.wake_one(environment_id, future.result())
            raise
        finally:
            self.waiters.done(waiter, abandon)

    def _eligible(self, environment_id: str, reclaim_ms: int) -> bool:
        """Whether a waiter with this reclaim window could claim something now."""
        return self.index.may_deliver(environment_id, self.clock.now(), reclaim_ms)

    def _arm_ready(self, environment_id: str, reclaims: Sequence[int]) -> None:
        """Have the waiters woken when something becomes deliverable without a write."""
        delays = []
        for reclaim_ms in reclaims:
            ready_at = self.index.next_ready_at(environment_id, reclaim_ms)
            delay = None if ready_at is None else self.clock.real_delay(ready_at)
            if delay is not None:
                delays.append(delay)
        if delays:
            when = asyncio.get_running_loop().time() + max(min(delays), _MIN_READY_DELAY)
            self.waiters.ready_at(environment_id, when)

    def _ready_due(self, environment_id: str) -> None:
        """An environment's readiness instant came: one waiter looks (and passes it on)."""
        if not self.waiters.wake_one(environment_id, Wake.READY):
            self._arm_ready(environment_id, self.waiters.tags(environment_id))

    def _ready_used(self, environment_id: str) -> None:
        """A waiter woken by readiness has claimed (or not): wake the next one or re-arm."""
        self._ready_due(environment_id)

    async def release(self, item: WorkItem) -> None:
        """Undo a delivery nobody received: back to undelivered if still exactly as claimed."""
        released = replace(item, delivered_at=None, delivered_to=None, version=item.version + 1)
        await self.commit([Replace(released, item.version)], [(item, released)])

    async def _try_claim(
        self, environment_id: str, worker_id: str | None, reclaim_ms: int
    ) -> WorkItem | None:
        now = self.clock.now()
        if self.keeper.next_deadline() is not None:
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


def spread(block_ms: int | None) -> float:
    """Seconds a poll waits: ``block_ms``, less up to 10 % at random, so a fleet does not time
    out (and come back) in lock-step; never more than ``block_ms``."""
    if not block_ms:
        return 0.0
    return block_ms / 1000 * (1 - _SPREAD * random.random())
