"""``ReadinessIndex`` against a brute-force scan of the stored items.

The index lets an empty poll skip the database, so it must agree exactly with the items it was told
about: a random sequence of real domain transitions is applied to a dict standing in for the store,
every write is reported with ``observe(before, after)`` as the queue service does, and after each
step every query is compared with the same question answered by scanning all items.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from workyard.clock import Instant, parse_ts
from workyard.domain import work as wm
from workyard.domain.models import WorkItem, WorkState
from workyard.errors import ConflictError, PreconditionFailedError
from workyard.service.readiness import ReadinessIndex
from workyard.store.base import QueueSnapshotRow, ReadinessSnapshot

T0 = parse_ts("2026-07-01T08:00:00.000000Z")
S = 1_000_000
TTL = 60
ENVS = ("env_a", "env_b")
WORKERS = (None, "w1", "w2")
RECLAIMS = (0, 1, 5000, 60_000)
DELTAS = (0, 1, 999, 1000, S, 5 * S - 1, 5 * S, 10 * S, 59 * S, 60 * S, 61 * S, 600 * S)
PENDING_MS = wm.PENDING_WINDOW_MS


def _deliverable_at(item: WorkItem, t: Instant, reclaim_ms: int) -> bool:
    return wm.deliverable(wm.expire(item, t), t, reclaim_ms)


class ReadinessMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now: Instant = T0
        self.items: dict[str, WorkItem] = {}
        self.index = ReadinessIndex()

    # the store stand-in -----------------------------------------------------------------------
    def _write(self, before: WorkItem | None, after: WorkItem) -> None:
        if before == after:
            return
        self.items[after.id] = after
        self.index.observe(before, after)

    def _pick(self, n: int) -> WorkItem:
        ids = sorted(self.items)
        return self.items[ids[n % len(ids)]]

    def _mutate(self, n: int, operation: str, **args: object) -> None:
        """Load, expire, apply, write back — the shape of ``WorkQueue.mutate``."""
        stored = self._pick(n)
        current = wm.expire(stored, self.now)
        try:
            if operation == "ack":
                worker = args["worker"]
                assert worker is None or isinstance(worker, str)
                new = wm.ack(current, worker, self.now, TTL)
            elif operation == "heartbeat":
                expected = wm.NO_HEARTBEAT if args["conditional"] else None
                ttl = args["ttl"]
                assert ttl is None or isinstance(ttl, int)
                new = wm.heartbeat(current, expected, ttl, self.now, TTL).item
            elif operation == "stop":
                new = wm.stop(current, bool(args["force"]), self.now)
            else:
                new = wm.update_metadata(current, {"n": str(self.now)})
        except (ConflictError, PreconditionFailedError):
            return
        self._write(stored, new)

    def _sweep(self) -> None:
        """``WorkQueue.expire_due``: persist every due lease, then forget stale deadlines."""
        deadline = self.index.next_deadline()
        if deadline is None or deadline > self.now:
            return
        due = [w for w in self.items.values() if w.lease_expires_at is not None]
        for stored in sorted(due, key=lambda w: (w.lease_expires_at, w.id)):
            assert stored.lease_expires_at is not None
            if stored.lease_expires_at <= self.now:
                self._write(stored, wm.expire(stored, self.now))
        self.index.forget_due(self.now)

    # rules ------------------------------------------------------------------------------------
    @rule(env=st.sampled_from(ENVS))
    def create(self, env: str) -> None:
        item_id = f"work_{len(self.items):04d}"
        item = WorkItem(item_id, env, f"sess_{item_id}", WorkState.QUEUED, self.now)
        self.items[item_id] = item
        self.index.observe(None, item)

    @rule(
        env=st.sampled_from(ENVS),
        worker=st.sampled_from(WORKERS),
        reclaim=st.sampled_from(RECLAIMS),
        service_before=st.booleans(),
    )
    def poll(self, env: str, worker: str | None, reclaim: int, service_before: bool) -> None:
        """``WorkQueue._try_claim``: sweep if a deadline exists, ask the index, claim the oldest."""
        if self.index.next_deadline() is not None:
            self._sweep()
        candidates = sorted(
            w.id
            for w in self.items.values()
            if w.environment_id == env and wm.deliverable(w, self.now, reclaim)
        )
        assert self.index.may_deliver(env, self.now, reclaim) == bool(candidates)
        if not candidates:
            return
        stored = self.items[candidates[0]]
        claimed = wm.deliver(stored, worker, self.now)
        self.items[claimed.id] = claimed
        # The service reports the claim with a reconstructed "before" (no delivery record).
        before = (
            replace(claimed, delivered_at=None, delivered_to=None) if service_before else stored
        )
        self.index.observe(before, claimed)

    @precondition(lambda self: bool(self.items))
    @rule(n=st.integers(min_value=0), worker=st.sampled_from(WORKERS))
    def ack(self, n: int, worker: str | None) -> None:
        self._mutate(n, "ack", worker=worker)

    @precondition(lambda self: bool(self.items))
    @rule(
        n=st.integers(min_value=0),
        ttl=st.one_of(st.none(), st.integers(1, 700)),
        conditional=st.booleans(),
    )
    def heartbeat(self, n: int, ttl: int | None, conditional: bool) -> None:
        self._mutate(n, "heartbeat", ttl=ttl, conditional=conditional)

    @precondition(lambda self: bool(self.items))
    @rule(n=st.integers(min_value=0), force=st.booleans())
    def stop(self, n: int, force: bool) -> None:
        self._mutate(n, "stop", force=force)

    @precondition(lambda self: bool(self.items))
    @rule(n=st.integers(min_value=0))
    def update_metadata(self, n: int) -> None:
        self._mutate(n, "metadata")

    @rule(delta=st.one_of(st.sampled_from(DELTAS), st.integers(0, 700 * S)))
    def advance(self, delta: int) -> None:
        self.now += delta

    @rule()
    def sweep(self) -> None:
        self._sweep()

    @rule()
    def reload(self) -> None:
        """A restart: rebuild from what the store's snapshot queries would return."""
        undelivered: dict[str, int] = {}
        rows = []
        for w in self.items.values():
            if w.state is WorkState.QUEUED and w.delivered_at is None:
                undelivered[w.environment_id] = undelivered.get(w.environment_id, 0) + 1
            elif (
                w.state is WorkState.QUEUED and w.delivered_at is not None
            ) or w.lease_expires_at is not None:
                rows.append(
                    QueueSnapshotRow(
                        w.id, w.environment_id, w.state, w.delivered_at, w.lease_expires_at
                    )
                )
        self.index = ReadinessIndex()
        self.index.load(ReadinessSnapshot(undelivered, rows))

    # invariants -------------------------------------------------------------------------------
    def _in(self, env: str) -> list[WorkItem]:
        return [w for w in self.items.values() if w.environment_id == env]

    @invariant()
    def next_deadline_is_the_earliest_lease(self) -> None:
        leases = [w.lease_expires_at for w in self.items.values() if w.lease_expires_at is not None]
        assert self.index.next_deadline() == (min(leases) if leases else None)

    @invariant()
    def may_deliver_and_next_ready_at_match_a_scan(self) -> None:
        for env in ENVS:
            items = self._in(env)
            for reclaim in RECLAIMS:
                ready_times = [
                    w.delivered_at + reclaim * 1000
                    for w in items
                    if w.state is WorkState.QUEUED and w.delivered_at is not None
                ] + [
                    w.lease_expires_at
                    for w in items
                    if w.state in (WorkState.STARTING, WorkState.ACTIVE)
                    and w.lease_expires_at is not None
                ]
                expected_ready = min(ready_times) if ready_times else None
                assert self.index.next_ready_at(env, reclaim) == expected_ready
                probes = {self.now, self.now + 1, self.now + 5 * S, self.now + 61 * S}
                if expected_ready is not None:
                    probes |= {expected_ready - 1, expected_ready}
                for t in sorted(p for p in probes if p >= self.now):
                    expected = any(_deliverable_at(w, t, reclaim) for w in items)
                    assert self.index.may_deliver(env, t, reclaim) == expected, (env, t, reclaim)
                undelivered = any(
                    w.state is WorkState.QUEUED and w.delivered_at is None for w in items
                )
                if expected_ready is not None and not undelivered and expected_ready > self.now:
                    assert not self.index.may_deliver(env, expected_ready - 1, reclaim)
                    assert self.index.may_deliver(env, expected_ready, reclaim)

    @invariant()
    def counts_match_a_scan(self) -> None:
        for env in ENVS:
            queued = [w for w in self._in(env) if w.state is WorkState.QUEUED]
            pending = sum(
                1
                for w in queued
                if w.delivered_at is not None and self.now - w.delivered_at < PENDING_MS * 1000
            )
            depth = sum(1 for w in queued if wm.deliverable(w, self.now, wm.DEFAULT_RECLAIM_MS))
            assert depth + pending == len(queued)
            assert self.index.counts(env, self.now, PENDING_MS) == (depth, pending)

    @invariant()
    def unknown_environment_is_empty(self) -> None:
        assert not self.index.may_deliver("env_x", self.now, 0)
        assert self.index.next_ready_at("env_x", 0) is None
        assert self.index.counts("env_x", self.now, PENDING_MS) == (0, 0)


ReadinessMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=50, deadline=None
)
TestReadiness = ReadinessMachine.TestCase
