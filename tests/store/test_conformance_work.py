"""Store conformance (both backends): work items — list, claim, due, oldest, readiness, pollers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.store.records import SECOND, T0, env, expected_window, ident, insert, page_shapes, work
from workyard.domain.models import WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store.base import QueueSnapshotRow, Store, StoreUnavailableError

NOW = T0 + 1000 * SECOND
CUTOFF = NOW - 5 * SECOND
ALL = PageRequest(100)


# get / list --------------------------------------------------------------------------------------
async def test_list_work_ascending_and_filtered(any_store: Store) -> None:
    a, b = env(1), env(2)
    states = [WorkState.QUEUED, WorkState.ACTIVE, WorkState.STOPPED, WorkState.QUEUED]
    items = [work(n, a.id, state=s) for n, s in enumerate(states, start=1)]
    other = work(9, b.id)
    await insert(any_store, a, b, *items, other)

    assert await any_store.list_work(a.id, None, ALL) == items
    assert await any_store.list_work(b.id, None, ALL) == [other]
    assert await any_store.list_work(ident("env", 3), None, ALL) == []
    assert await any_store.list_work(a.id, (WorkState.QUEUED,), ALL) == [items[0], items[3]]
    both = (WorkState.STOPPED, WorkState.ACTIVE)
    assert await any_store.list_work(a.id, both, ALL) == [items[1], items[2]]
    assert await any_store.list_work(a.id, (WorkState.STARTING,), ALL) == []
    assert await any_store.list_work(a.id, (), ALL) == []
    assert await any_store.list_work(a.id, None, PageRequest(2)) == items[:3]


@pytest.mark.parametrize(
    "states",
    [
        None,
        (WorkState.QUEUED,),
        (WorkState.ACTIVE, WorkState.QUEUED),
        (WorkState.STOPPED, WorkState.ACTIVE, WorkState.QUEUED),
        (WorkState.QUEUED, WorkState.QUEUED),
    ],
    ids=["all", "queued", "two-states", "three-states", "repeated"],
)
async def test_list_work_every_page_shape(
    any_store: Store, states: tuple[WorkState, ...] | None
) -> None:
    # Several states are merged from one ordered index scan per state: every page shape must
    # still match a single scan over the union.
    a, b = env(1), env(2)
    cycle = [WorkState.QUEUED, WorkState.STOPPED, WorkState.ACTIVE]
    items = [work(n, a.id, state=cycle[n % 3]) for n in range(1, 11)]
    await insert(any_store, a, b, *items, work(20, b.id))
    listed = [w.id for w in items if states is None or w.state in states]
    for page in page_shapes([w.id for w in items]):
        rows = await any_store.list_work(a.id, states, page)
        assert [w.id for w in rows] == expected_window(listed, page, descending=False), page


# claim_work --------------------------------------------------------------------------------------
async def test_claim_takes_the_oldest_queued_item_of_the_environment(any_store: Store) -> None:
    a, b = env(1), env(2)
    not_queued = [
        work(1, a.id, state=WorkState.STARTING, lease_expires_at=NOW),
        work(2, a.id, state=WorkState.ACTIVE, lease_expires_at=NOW),
        work(3, a.id, state=WorkState.STOPPING),
        work(4, a.id, state=WorkState.STOPPED),
    ]
    elsewhere = work(5, b.id)
    first, second = work(6, a.id, version=3), work(7, a.id)
    await insert(any_store, a, b, *not_queued, elsewhere, first, second)

    claimed = await any_store.claim_work(a.id, CUTOFF, "worker-1", NOW)
    expected = replace(first, delivered_at=NOW, delivered_to="worker-1", version=4)
    assert claimed == expected
    assert await any_store.get_work(first.id) == expected

    claimed = await any_store.claim_work(a.id, CUTOFF, None, NOW)  # anonymous poll
    assert claimed == replace(second, delivered_at=NOW, delivered_to=None, version=2)
    assert await any_store.get_work(second.id) == claimed

    assert await any_store.claim_work(a.id, CUTOFF, "worker-1", NOW) is None  # all recently out
    for item in [*not_queued, elsewhere]:
        assert await any_store.get_work(item.id) == item
    assert await any_store.claim_work(ident("env", 3), CUTOFF, "w", NOW) is None


async def test_claim_redelivers_at_or_before_the_cutoff(any_store: Store) -> None:
    a = env(1)
    too_recent = work(1, a.id, delivered_at=CUTOFF + 1, delivered_to="old")
    at_cutoff = work(2, a.id, delivered_at=CUTOFF, delivered_to="old")
    long_ago = work(3, a.id, delivered_at=CUTOFF - 60 * SECOND, delivered_to="older")
    await insert(any_store, a, too_recent, at_cutoff, long_ago)

    got = await any_store.claim_work(a.id, CUTOFF, "new", NOW)
    assert got == replace(at_cutoff, delivered_at=NOW, delivered_to="new", version=2)
    got = await any_store.claim_work(a.id, CUTOFF, "new", NOW)
    assert got == replace(long_ago, delivered_at=NOW, delivered_to="new", version=2)
    assert await any_store.claim_work(a.id, CUTOFF, "new", NOW) is None
    assert await any_store.get_work(too_recent.id) == too_recent

    # a later poll with a later cutoff takes the item again
    later = NOW + 10 * SECOND
    got = await any_store.claim_work(a.id, later - 5 * SECOND, "again", later)
    assert got is not None and got.id == too_recent.id and got.delivered_to == "again"


async def test_claim_prefers_the_lowest_id_over_earlier_creation(any_store: Store) -> None:
    a = env(1)
    low = work(1, a.id, created_at=T0 + 50 * SECOND)
    high = work(2, a.id, created_at=T0)
    await insert(any_store, a, high, low)
    got = await any_store.claim_work(a.id, CUTOFF, "w", NOW)
    assert got is not None and got.id == low.id


# due_work ----------------------------------------------------------------------------------------
async def test_due_work_soonest_first_and_only_due(any_store: Store) -> None:
    a, b = env(1), env(2)
    items = [
        work(1, a.id, state=WorkState.ACTIVE, lease_expires_at=NOW - 1 * SECOND),
        work(2, b.id, state=WorkState.STARTING, lease_expires_at=NOW - 9 * SECOND),
        work(3, a.id, state=WorkState.STOPPING, lease_expires_at=NOW),
        work(4, a.id, state=WorkState.ACTIVE, lease_expires_at=NOW + 1),
        work(5, a.id, state=WorkState.QUEUED),
        work(6, a.id, state=WorkState.ACTIVE, lease_expires_at=NOW - 5 * SECOND),
    ]
    await insert(any_store, a, b, *items)
    due = await any_store.due_work(NOW, 10)
    assert due == [items[1], items[5], items[0], items[2]]
    assert await any_store.due_work(NOW, 2) == [items[1], items[5]]
    assert await any_store.due_work(NOW - 10 * SECOND, 10) == []
    assert await any_store.due_work(NOW + 1, 10) == [*due, items[3]]


# oldest_queued_created_at ------------------------------------------------------------------------
async def test_oldest_queued_created_at(any_store: Store) -> None:
    a, b = env(1), env(2)
    await insert(any_store, a, b)
    assert await any_store.oldest_queued_created_at(a.id) is None
    await insert(
        any_store,
        work(1, a.id, state=WorkState.STOPPED, created_at=T0 + 1),
        work(2, b.id, created_at=T0 + 2),
        work(3, a.id, state=WorkState.ACTIVE, created_at=T0 + 3),
    )
    assert await any_store.oldest_queued_created_at(a.id) is None
    assert await any_store.oldest_queued_created_at(b.id) == T0 + 2
    await insert(
        any_store,
        work(4, a.id, created_at=T0 + 4, delivered_at=NOW, delivered_to="w"),  # delivered counts
        work(5, a.id, created_at=T0 + 5),
    )
    assert await any_store.oldest_queued_created_at(a.id) == T0 + 4


# readiness snapshot ------------------------------------------------------------------------------
def _row(item: WorkItem) -> QueueSnapshotRow:
    return QueueSnapshotRow(
        item.id, item.environment_id, item.state, item.delivered_at, item.lease_expires_at
    )


async def test_readiness_snapshot(any_store: Store) -> None:
    empty = await any_store.readiness_snapshot()
    assert empty.undelivered == {} and empty.rows == []

    a, b, c = env(1), env(2), env(3)
    undelivered = [work(1, a.id), work(2, a.id), work(3, b.id)]
    delivered = work(4, a.id, delivered_at=NOW, delivered_to="w")
    starting = work(5, b.id, state=WorkState.STARTING, delivered_at=NOW, lease_expires_at=NOW + 1)
    active = work(6, a.id, state=WorkState.ACTIVE, lease_expires_at=NOW + 2)
    stopping = work(7, a.id, state=WorkState.STOPPING, lease_expires_at=NOW + 3)
    stopped = work(8, c.id, state=WorkState.STOPPED, delivered_at=NOW, stopped_at=NOW)
    await insert(any_store, a, b, c, *undelivered, delivered, starting, active, stopping, stopped)

    snap = await any_store.readiness_snapshot()
    assert snap.undelivered == {a.id: 2, b.id: 1}
    expected = [_row(w) for w in (delivered, starting, active, stopping)]
    assert sorted(snap.rows, key=lambda r: r.id) == expected
    if any_store.replicated:
        assert isinstance(snap.token, str) and snap.token.count(":") == 2
    else:
        assert snap.token is None


# pollers -----------------------------------------------------------------------------------------
async def test_pollers_follow_each_backends_contract(any_store: Store) -> None:
    a, b = ident("env", 1), ident("env", 2)
    await any_store.record_pollers([(a, "w1", NOW), (a, "w2", NOW - 20 * SECOND), (b, "w1", NOW)])
    await any_store.record_pollers([])
    if not any_store.replicated:
        # single node: the service counts pollers in memory; the store keeps nothing
        assert await any_store.recent_pollers(a, NOW - 60 * SECOND) == set()
        await any_store.forget_pollers(NOW)
        assert await any_store.recent_pollers(b, 0) == set()
        return

    assert await any_store.recent_pollers(a, NOW - 60 * SECOND) == {"w1", "w2"}
    assert await any_store.recent_pollers(a, NOW - 20 * SECOND) == {"w1"}  # strictly after
    assert await any_store.recent_pollers(b, NOW - 60 * SECOND) == {"w1"}
    assert await any_store.recent_pollers(ident("env", 3), 0) == set()

    # a late report of an older poll does not move the last poll back
    await any_store.record_pollers([(a, "w1", NOW - 50 * SECOND), (a, "w2", NOW - 1)])
    assert await any_store.recent_pollers(a, NOW - 2) == {"w1", "w2"}

    await any_store.forget_pollers(NOW - 1)  # forgets polls at or before the instant
    assert await any_store.recent_pollers(a, 0) == {"w1"}
    assert await any_store.recent_pollers(b, 0) == {"w1"}
    await any_store.forget_pollers(NOW)
    assert await any_store.recent_pollers(a, 0) == set()
    assert await any_store.recent_pollers(b, 0) == set()


# availability ------------------------------------------------------------------------------------
async def test_a_closed_store_is_unavailable(any_store: Store) -> None:
    await any_store.close()
    with pytest.raises(StoreUnavailableError):
        await any_store.get_work(ident("work", 1))
    with pytest.raises(StoreUnavailableError):
        await any_store.commit([])
    with pytest.raises(StoreUnavailableError):
        await any_store.ping()
    await any_store.close()  # closing twice is harmless
