"""In-memory per-environment readiness index: "could a poll deliver now?" without SQL.

Kept exact by observing every work-item write (``observe(before, after)``) and rebuilt from the
store at startup. It tracks, per environment, how many ``queued`` items were never delivered, the
delivery times of delivered-but-unacknowledged items, and the lease deadlines of leased items.
Deleted entries are left in the heaps and skipped lazily.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from workyard.clock import Instant
from workyard.domain.models import WorkItem, WorkState
from workyard.store.base import ItemSummary, ReadinessSnapshot, WorkChange

__all__ = ["ReadinessIndex"]

_REQUEUEABLE = (WorkState.STARTING, WorkState.ACTIVE)
_US_PER_MS = 1000


@dataclass(slots=True)
class _Env:
    undelivered: int = 0
    delivered: dict[str, Instant] = field(default_factory=dict)
    delivered_heap: list[tuple[Instant, str]] = field(default_factory=list)
    leases: dict[str, Instant] = field(default_factory=dict)  # starting/active only
    lease_heap: list[tuple[Instant, str]] = field(default_factory=list)


def _min(heap: list[tuple[Instant, str]], live: dict[str, Instant]) -> Instant | None:
    while heap and live.get(heap[0][1]) != heap[0][0]:
        heapq.heappop(heap)
    return heap[0][0] if heap else None


class ReadinessIndex:
    """What each environment's queue could deliver, and when the next lease deadline falls."""

    def __init__(self) -> None:
        self._envs: dict[str, _Env] = {}
        self._deadlines: dict[str, Instant] = {}  # every leased item, stopping included
        self._deadline_heap: list[tuple[Instant, str]] = []
        self._deadline_env: dict[str, str] = {}

    def _env(self, environment_id: str) -> _Env:
        env = self._envs.get(environment_id)
        if env is None:
            env = self._envs[environment_id] = _Env()
        return env

    def load(self, snapshot: ReadinessSnapshot) -> None:
        """Start over from a store snapshot."""
        self._envs.clear()
        self._deadlines.clear()
        self._deadline_heap.clear()
        self._deadline_env.clear()
        for env_id, count in snapshot.undelivered.items():
            self._env(env_id).undelivered = count
        for row in snapshot.rows:
            summary = ItemSummary(row.state, row.delivered_at, row.lease_expires_at)
            self._add(row.id, row.environment_id, summary)

    def observe(self, before: WorkItem | None, after: WorkItem | None) -> None:
        """Account for one write that changed ``before`` into ``after`` (either may be ``None``)."""
        self.apply(WorkChange.of(before, after))

    def apply(self, change: WorkChange) -> None:
        """Account for one committed change (from this server or, replicated, from any)."""
        if change.before is not None:
            self._remove(change.id, change.environment_id, change.before)
        if change.after is not None:
            self._add(change.id, change.environment_id, change.after)

    def _add(self, item_id: str, env_id: str, summary: ItemSummary) -> None:
        state, delivered_at, lease = summary.state, summary.delivered_at, summary.lease_expires_at
        env = self._env(env_id)
        if state is WorkState.QUEUED:
            if delivered_at is None:
                env.undelivered += 1
            else:
                env.delivered[item_id] = delivered_at
                heapq.heappush(env.delivered_heap, (delivered_at, item_id))
        if lease is not None:
            if state in _REQUEUEABLE:
                env.leases[item_id] = lease
                heapq.heappush(env.lease_heap, (lease, item_id))
            self._deadlines[item_id] = lease
            self._deadline_env[item_id] = env_id
            heapq.heappush(self._deadline_heap, (lease, item_id))

    def _remove(self, item_id: str, env_id: str, summary: ItemSummary) -> None:
        env = self._env(env_id)
        if env.delivered.pop(item_id, None) is None and summary.state is WorkState.QUEUED:
            env.undelivered = max(0, env.undelivered - 1)
        env.leases.pop(item_id, None)
        if self._deadlines.pop(item_id, None) is not None:
            self._deadline_env.pop(item_id, None)

    def forget_due(self, now: Instant) -> None:
        """Drop deadlines at or before ``now`` that the store no longer has (stale entries)."""
        while (deadline := self.next_deadline()) is not None and deadline <= now:
            _, item_id = heapq.heappop(self._deadline_heap)
            self._deadlines.pop(item_id, None)
            env_id = self._deadline_env.pop(item_id, None)
            if env_id is not None:
                self._env(env_id).leases.pop(item_id, None)

    # queries -----------------------------------------------------------------------------------
    def next_deadline(self) -> Instant | None:
        """The earliest lease deadline of any environment."""
        return _min(self._deadline_heap, self._deadlines)

    def may_deliver(self, environment_id: str, now: Instant, reclaim_ms: int) -> bool:
        """Whether a poll with this reclaim window could find something now."""
        env = self._envs.get(environment_id)
        if env is None:
            return False
        if env.undelivered > 0:
            return True
        oldest = _min(env.delivered_heap, env.delivered)
        if oldest is not None and now - oldest >= reclaim_ms * _US_PER_MS:
            return True
        lease = _min(env.lease_heap, env.leases)
        return lease is not None and lease <= now

    def next_ready_at(self, environment_id: str, reclaim_ms: int) -> Instant | None:
        """The earliest instant at which something may become deliverable without a new write."""
        env = self._envs.get(environment_id)
        if env is None:
            return None
        candidates = []
        oldest = _min(env.delivered_heap, env.delivered)
        if oldest is not None:
            candidates.append(oldest + reclaim_ms * _US_PER_MS)
        lease = _min(env.lease_heap, env.leases)
        if lease is not None:
            candidates.append(lease)
        return min(candidates) if candidates else None

    def environment_counts(self) -> list[tuple[str, int, int]]:
        """``(environment_id, undelivered, leased)`` for every environment seen (metrics)."""
        return [(env_id, e.undelivered, len(e.leases)) for env_id, e in self._envs.items()]

    def counts(self, environment_id: str, now: Instant, pending_ms: int) -> tuple[int, int]:
        """``(depth, pending)`` for stats: deliverable by a default poll, and recently delivered."""
        env = self._envs.get(environment_id)
        if env is None:
            return 0, 0
        cutoff = now - pending_ms * _US_PER_MS
        pending = sum(1 for t in env.delivered.values() if t > cutoff)
        return env.undelivered + len(env.delivered) - pending, pending
