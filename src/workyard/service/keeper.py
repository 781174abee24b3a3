"""Keeps the readiness index in step with committed work changes, on one server or many.

Single node (SQLite): every change is applied right after its commit, and the index is exact.
Replicated (PostgreSQL): every replica applies every change, its own included, from the
database's change feed, in commit order, so all replicas hold the same index. Until a replica's own
change that could make an item deliverable (``_may_ready``: a new or requeued item, an earlier
delivery) comes back through the feed, polls of that environment ask the database
(read-your-writes). Own changes that only make items less deliverable (claims, acks, heartbeats,
stops, metadata) leave the index erring on the side of "ask the database", so they need no such
wait; the lease deadlines they set count as deadlines until their echo arrives (``next_deadline``),
so an expiry is never missed because the feed was slower than the clock. While the feed is down,
every poll asks the database. Correctness never depends on a notification: a missed wake-up costs
at most a poll's ``block_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections import Counter
from collections.abc import Callable, Sequence

from workyard.clock import Instant
from workyard.domain.models import WorkState
from workyard.service.readiness import ReadinessIndex
from workyard.service.waiters import Waiters
from workyard.store.base import ItemSummary, ReadinessSnapshot, WorkChange

__all__ = ["IndexKeeper"]


class IndexKeeper:
    def __init__(
        self,
        index: ReadinessIndex,
        notifier: Waiters,
        wake_sweeper: Callable[[], None],
        replicated: bool,
    ) -> None:
        self.index = index
        self.replicated = replicated
        self.ready = not replicated
        self._notifier = notifier
        self._wake_sweeper = wake_sweeper
        self._unechoed: Counter[str] = Counter()  # own changes not yet back from the feed
        self._unready: Counter[str] = Counter()  # ... of those, the ones that may ready an item
        # ... and the lease deadlines they set, which the index may not hold yet (lazy heap)
        self._own_leases: Counter[Instant] = Counter()
        self._own_lease_heap: list[Instant] = []
        self._echoed = asyncio.Event()
        self.on_events: Callable[[Sequence[str]], None] = lambda _: None
        self.on_reset: Callable[[], None] = lambda: None
        # credentials (service/auth.py): work items and tokens that changed, and resyncs
        self.on_work: Callable[[Sequence[WorkChange]], None] = lambda _: None
        self.on_tokens: Callable[[Sequence[str]], None] = lambda _: None
        self.on_resync: Callable[[], None] = lambda: None

    # commits made by this server ---------------------------------------------------------------
    def before_commit(self, changes: Sequence[WorkChange]) -> None:
        if self.replicated:
            self._unechoed.update(c.environment_id for c in changes)
            self._unready.update(c.environment_id for c in changes if _may_ready(c))
            for lease in _leases(changes):
                self._own_leases[lease] += 1
                heapq.heappush(self._own_lease_heap, lease)

    def after_commit(self, changes: Sequence[WorkChange], committed: bool) -> None:
        if committed:
            self.on_work(changes)
        if not self.replicated:
            if committed:
                self._apply_all(changes)
            return
        if not committed:
            self._forget_own(changes)

    def _forget_own(self, changes: Sequence[WorkChange]) -> None:
        self._unechoed.subtract(c.environment_id for c in changes)
        self._unready.subtract(c.environment_id for c in changes if _may_ready(c))
        for lease in _leases(changes):
            left = self._own_leases[lease] - 1
            if left > 0:
                self._own_leases[lease] = left
            else:
                self._own_leases.pop(lease, None)

    # the change feed (replicated stores) -------------------------------------------------------
    def reset(self, snapshot: ReadinessSnapshot) -> None:
        self.index.load(snapshot)
        self._unechoed.clear()
        self._unready.clear()
        self._own_leases.clear()
        self._own_lease_heap.clear()
        self.ready = True
        self._wake_sweeper()
        self._notifier.notify_all()
        self.on_reset()  # anything missed while the feed was down is worth a look
        self.on_resync()

    def changes(self, changes: Sequence[WorkChange], own: bool) -> None:
        if own:
            self._forget_own(changes)
            self._echoed.set()
            self._echoed = asyncio.Event()
        self._apply_all(changes)
        self.on_work(changes)

    def tokens(self, token_ids: Sequence[str]) -> None:
        self.on_tokens(token_ids)

    def events(self, session_ids: Sequence[str]) -> None:
        self.on_events(session_ids)

    def lost(self) -> None:
        self.ready = False
        self._notifier.notify_all()

    def _apply_all(self, changes: Sequence[WorkChange]) -> None:
        for change in changes:
            self.index.apply(change)
            after = change.after
            if after is None:
                continue
            if after.lease_expires_at is not None:
                self._wake_sweeper()
            if after.state is WorkState.QUEUED:
                self._wake_for(change, after.delivered_at)

    def _wake_for(self, change: WorkChange, delivered_at: Instant | None) -> None:
        """One wake-up per item that became deliverable (never one for every queued change)."""
        before = change.before
        if delivered_at is None:
            was_undelivered = (
                before is not None
                and before.state is WorkState.QUEUED
                and before.delivered_at is None
            )
            if not was_undelivered:
                self._notifier.notify(change.environment_id)
        elif before is None or before.delivered_at != delivered_at:
            # a fresh delivery is deliverable again at once only to polls with reclaim 0
            self._notifier.notify(change.environment_id, max_tag=0)

    # questions ---------------------------------------------------------------------------------
    async def settled(self, environment_id: str | None = None, seconds: float = 2.0) -> None:
        """Wait (briefly) until this server's own changes to the environment are in the index.

        Without an environment, wait for this server's own changes to every environment.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.ready and self._pending(environment_id):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._echoed.wait(), remaining)

    def _pending(self, environment_id: str | None) -> bool:
        if environment_id is None:
            return any(n > 0 for n in self._unechoed.values())
        return self._unechoed[environment_id] > 0

    def next_deadline(self) -> Instant | None:
        """The earliest lease deadline the store may hold: the index's, or one this server set
        whose echo has not reached the index yet (with real time the echo comes long before the
        deadline; with a clock moved by hand, or a slow feed, it may not)."""
        heap = self._own_lease_heap
        while heap and heap[0] not in self._own_leases:
            heapq.heappop(heap)
        deadline = self.index.next_deadline()
        if heap and (deadline is None or heap[0] < deadline):
            return heap[0]
        return deadline

    def forget_due(self, now: Instant) -> None:
        """The store was just asked for every lease due by ``now``: whatever is known to be due by
        then (in the index, or set by this server and not yet echoed) needs no further look."""
        self.index.forget_due(now)
        heap = self._own_lease_heap
        while heap and heap[0] <= now:
            self._own_leases.pop(heapq.heappop(heap), None)

    def may_deliver(self, environment_id: str, now: Instant, reclaim_ms: int) -> bool:
        if not self.ready or self._unready[environment_id] > 0:
            return True
        return self.index.may_deliver(environment_id, now, reclaim_ms)


def _may_ready(change: WorkChange) -> bool:
    """Whether a change could make its item deliverable sooner than its old summary says: it enters
    the queue (new, or requeued by an expired lease), or its delivery moves earlier or is undone.

    Every other change only delays deliverability (a claim, ack, heartbeat, stop, metadata update),
    or sets a lease deadline, which ``next_deadline`` knows before the echo does; an index that has
    not seen such a change yet overestimates what is deliverable, so a poll asks the database and
    finds the truth.
    """
    after, before = change.after, change.before
    if after is None or after.state is not WorkState.QUEUED:
        return False
    if before is None or before.state is not WorkState.QUEUED:
        return True
    return _earlier(after, before)


def _leases(changes: Sequence[WorkChange]) -> list[Instant]:
    return [
        c.after.lease_expires_at
        for c in changes
        if c.after is not None and c.after.lease_expires_at is not None
    ]


def _earlier(after: ItemSummary, before: ItemSummary) -> bool:
    if after.delivered_at is None:
        return before.delivered_at is not None
    return before.delivered_at is not None and after.delivered_at < before.delivered_at
