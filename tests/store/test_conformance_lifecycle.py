"""Store conformance (both backends): the work state machine through the store, and races.

Every transition of ``workyard.domain.work`` is driven the way the service drives it: load, apply
the pure operation, compare-and-set with the loaded version, reload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.store.records import SECOND, T0, env, insert, session, work
from workyard.clock import Instant
from workyard.domain import work as wm
from workyard.domain.models import WorkItem, WorkState
from workyard.store.base import Replace, Store, WorkChange

TTL = 60
WORKER = "worker-1"
Op = Callable[[WorkItem, Instant], WorkItem]

OPS: dict[str, Op] = {
    "ack": lambda w, now: wm.ack(w, WORKER, now, TTL),
    "heartbeat": lambda w, now: wm.heartbeat(w, None, None, now, TTL).item,
    "heartbeat_fenced": lambda w, now: (
        wm.heartbeat(
            w, w.latest_heartbeat_at if w.latest_heartbeat_at else wm.NO_HEARTBEAT, 30, now, TTL
        ).item
    ),
    "metadata": lambda w, now: wm.update_metadata(w, {"stage": f"at {now} ✓", "drop": None}),
    "stop": lambda w, now: wm.stop(w, False, now),
    "stop_forced": lambda w, now: wm.stop(w, True, now),
    "expire": wm.expire,
}

Q, ST, AC, SG, SD = (
    WorkState.QUEUED,
    WorkState.STARTING,
    WorkState.ACTIVE,
    WorkState.STOPPING,
    WorkState.STOPPED,
)
# (step, state after it); "claim" goes through store.claim_work, the rest through commit(Replace)
SCENARIOS: dict[str, list[tuple[str, WorkState]]] = {
    "graceful-stop-then-lease-ends": [
        ("claim", Q),
        ("ack", ST),
        ("heartbeat_fenced", AC),
        ("heartbeat", AC),
        ("metadata", AC),
        ("stop", SG),
        ("heartbeat", SG),
        ("expire", SD),
        ("metadata", SD),
    ],
    "unstarted-lease-ends-and-requeues": [
        ("claim", Q),
        ("ack", ST),
        ("expire", Q),
        ("claim", Q),
        ("ack", ST),
        ("heartbeat", AC),
    ],
    "active-lease-ends-and-requeues": [
        ("claim", Q),
        ("ack", ST),
        ("heartbeat_fenced", AC),
        ("expire", Q),
        ("stop", SD),
    ],
    "forced-stop-of-starting": [("claim", Q), ("ack", ST), ("stop_forced", SD)],
    "forced-stop-of-active": [("claim", Q), ("ack", ST), ("heartbeat", AC), ("stop_forced", SD)],
    "stop-twice": [("claim", Q), ("ack", ST), ("heartbeat", AC), ("stop", SG), ("stop", SD)],
    "ack-without-delivery-then-stop-queued": [("metadata", Q), ("ack", ST), ("expire", Q),
                                              ("stop", SD)],
}  # fmt: skip


async def _claim(store: Store, old: WorkItem, now: Instant) -> WorkItem:
    claimed = await store.claim_work(old.environment_id, now - 5 * SECOND, WORKER, now)
    assert claimed == replace(wm.deliver(old, WORKER, now), version=old.version + 1)
    return claimed


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_work_state_machine_through_the_store(any_store: Store, scenario: str) -> None:
    e = env(1)
    item = work(1, e.id, metadata={"drop": "me", "keep": "ключ"})
    s = session(1, e.id, work_id=item.id)
    await insert(any_store, e, item, s)
    now = T0 + 100 * SECOND

    for step, state in SCENARIOS[scenario]:
        old = await any_store.get_work(item.id)
        assert old is not None
        if step == "claim":
            now += SECOND
            new = await _claim(any_store, old, now)
        else:
            # expiry happens exactly at the deadline; every other step one second later
            now = (
                old.lease_expires_at if step == "expire" and old.lease_expires_at else now + SECOND
            )
            applied = OPS[step](old, now)
            assert applied != old, f"{step} changed nothing"
            new = replace(applied, version=old.version + 1)
            assert await any_store.commit([Replace(new, old.version)], [WorkChange.of(old, new)])
        assert new.state is state, (step, new)
        assert await any_store.get_work(item.id) == new
        got = await any_store.get_session(s.id)
        assert got is not None and got.work_state is state

        # a writer still holding the version before this step loses, and changes nothing
        stale = replace(old, metadata={"stale": "writer"}, version=old.version + 1)
        assert (
            await any_store.commit([Replace(stale, old.version)], [WorkChange.of(old, stale)])
            is False
        )
        assert await any_store.get_work(item.id) == new

    final = await any_store.get_work(item.id)
    assert final is not None and final.version == 1 + len(SCENARIOS[scenario])


async def test_requeue_clears_the_lease_and_is_claimable_again(any_store: Store) -> None:
    e = env(1)
    item = work(1, e.id)
    await insert(any_store, e, item)
    now = T0
    delivered = await _claim(any_store, item, now)
    acked = replace(wm.ack(delivered, WORKER, now, TTL), version=3)
    assert await any_store.commit([Replace(acked, 2)])
    assert await any_store.due_work(acked.lease_expires_at or 0, 10) == [acked]
    assert await any_store.claim_work(e.id, now + TTL * SECOND, "other", now) is None

    deadline = acked.lease_expires_at
    assert deadline is not None
    requeued = replace(wm.expire(acked, deadline), version=4)
    assert requeued.delivered_at is None and requeued.holder is None
    assert await any_store.commit([Replace(requeued, 3)])
    assert await any_store.due_work(deadline, 10) == []
    snap = await any_store.readiness_snapshot()
    assert snap.undelivered == {e.id: 1} and snap.rows == []
    again = await any_store.claim_work(e.id, deadline - 5 * SECOND, "other", deadline)
    assert again == replace(requeued, delivered_at=deadline, delivered_to="other", version=5)


# races -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("round_", range(3))
async def test_concurrent_claims_deliver_each_item_once(any_store: Store, round_: int) -> None:
    a, b = env(1), env(2)
    items = [work(n, a.id) for n in range(1, 6)]
    await insert(any_store, a, b, *items, work(9, b.id))
    now = T0 + round_ * SECOND

    results = await asyncio.gather(
        *(any_store.claim_work(a.id, now - 5 * SECOND, f"w{i}", now) for i in range(20))
    )

    claimed = [r for r in results if r is not None]
    assert len(claimed) == 5
    assert sorted(r.id for r in claimed) == [w.id for w in items]
    for r in claimed:
        stored = await any_store.get_work(r.id)
        assert stored == r and r.delivered_at == now and r.version == 2
    assert await any_store.claim_work(a.id, now - 5 * SECOND, "late", now) is None
    assert (await any_store.readiness_snapshot()).undelivered == {b.id: 1}


async def test_concurrent_replaces_with_one_version_have_one_winner(any_store: Store) -> None:
    e = env(1)
    item = work(1, e.id, version=4)
    await insert(any_store, e, item)
    candidates = [
        replace(item, metadata={"writer": str(i)}, state=WorkState.STOPPED, stopped_at=T0 + i,
                version=5)
        for i in range(10)
    ]  # fmt: skip

    outcomes = await asyncio.gather(*(any_store.commit([Replace(c, 4)]) for c in candidates))

    assert outcomes.count(True) == 1
    winner = candidates[outcomes.index(True)]
    assert await any_store.get_work(item.id) == winner


async def test_concurrent_transitions_from_one_load_have_one_winner(any_store: Store) -> None:
    e = env(1)
    item = work(1, e.id, state=WorkState.ACTIVE, holder=WORKER, lease_expires_at=T0 + TTL * SECOND)
    await insert(any_store, e, item)
    old = await any_store.get_work(item.id)
    assert old is not None
    now = T0 + SECOND
    contenders = [
        replace(OPS[name](old, now), version=old.version + 1)
        for name in ("heartbeat", "stop", "stop_forced", "metadata", "heartbeat_fenced")
    ]
    outcomes = await asyncio.gather(
        *(any_store.commit([Replace(c, old.version)]) for c in contenders)
    )
    assert outcomes.count(True) == 1
    assert await any_store.get_work(item.id) == contenders[outcomes.index(True)]
