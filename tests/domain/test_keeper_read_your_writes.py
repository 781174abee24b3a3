"""A replica asks the database after its own writes only when they could make work deliverable."""

from __future__ import annotations

from workyard.domain.models import WorkState
from workyard.service.keeper import IndexKeeper
from workyard.service.readiness import ReadinessIndex
from workyard.service.waiters import Waiters
from workyard.store.base import ItemSummary, ReadinessSnapshot, WorkChange

ENV = "env_1"
NOW = 1_000_000_000
QUEUED = ItemSummary(WorkState.QUEUED, None, None)
DELIVERED = ItemSummary(WorkState.QUEUED, NOW, None)
STARTING = ItemSummary(WorkState.STARTING, NOW, NOW + 60_000_000)
STOPPED = ItemSummary(WorkState.STOPPED, NOW, None)


def _replica() -> IndexKeeper:
    keeper = IndexKeeper(ReadinessIndex(), Waiters(), lambda: None, replicated=True)
    keeper.reset(ReadinessSnapshot({}, []))  # the feed is up; nothing is queued anywhere
    return keeper


def _change(before: ItemSummary | None, after: ItemSummary | None) -> WorkChange:
    return WorkChange("work_1", ENV, before, after)


def test_own_changes_that_only_delay_delivery_do_not_force_database_claims() -> None:
    keeper = _replica()
    for before, after in [(QUEUED, DELIVERED), (DELIVERED, STARTING), (STARTING, STOPPED)]:
        change = [_change(before, after)]
        keeper.before_commit(change)
        keeper.after_commit(change, committed=True)
        assert not keeper.may_deliver(ENV, NOW, 1000), (before, after)  # not yet echoed


def test_own_changes_that_may_ready_an_item_ask_the_database_until_echoed() -> None:
    keeper = _replica()
    earlier = ItemSummary(WorkState.QUEUED, NOW - 5, None)
    for before, after in [(None, QUEUED), (STARTING, QUEUED), (DELIVERED, earlier)]:
        change = [_change(before, after)]
        keeper.before_commit(change)
        keeper.after_commit(change, committed=True)
        assert keeper.may_deliver(ENV, NOW, 10**9), (before, after)
        keeper.changes(change, own=True)  # the echo: now the index knows
        index_says = keeper.index.may_deliver(ENV, NOW, 10**9)
        assert keeper.may_deliver(ENV, NOW, 10**9) is index_says


def test_a_failed_commit_or_a_lost_feed() -> None:
    keeper = _replica()
    change = [_change(None, QUEUED)]
    keeper.before_commit(change)
    keeper.after_commit(change, committed=False)
    assert not keeper.may_deliver(ENV, NOW, 1000)
    keeper.lost()
    assert keeper.may_deliver(ENV, NOW, 1000)  # the feed is down: every poll asks the database


def _commit(keeper: IndexKeeper, before: ItemSummary | None, after: ItemSummary) -> WorkChange:
    change = _change(before, after)
    keeper.before_commit([change])
    keeper.after_commit([change], committed=True)
    return change


def test_an_own_lease_is_a_deadline_before_its_echo_arrives() -> None:
    keeper = _replica()
    _commit(keeper, DELIVERED, STARTING)
    assert keeper.index.next_deadline() is None  # the feed has not brought it back yet
    assert keeper.next_deadline() == STARTING.lease_expires_at  # the sweeper and polls still look


def test_an_echoed_lease_is_the_index_s_alone() -> None:
    keeper = _replica()
    renewed = ItemSummary(WorkState.ACTIVE, NOW, NOW + 90_000_000)
    first = _commit(keeper, DELIVERED, STARTING)
    second = _commit(keeper, STARTING, renewed)
    keeper.changes([first, second], own=True)
    assert keeper.next_deadline() == renewed.lease_expires_at  # the renewal replaced the old one


def test_a_store_check_retires_own_leases_that_were_due() -> None:
    keeper = _replica()
    lease = STARTING.lease_expires_at
    assert lease is not None
    _commit(keeper, DELIVERED, STARTING)
    keeper.forget_due(lease - 1)
    assert keeper.next_deadline() == lease  # not due yet: still looked for
    keeper.forget_due(lease)
    assert keeper.next_deadline() is None


def test_a_failed_commit_sets_no_deadline() -> None:
    keeper = _replica()
    change = [_change(DELIVERED, STARTING)]
    keeper.before_commit(change)
    keeper.after_commit(change, committed=False)
    assert keeper.next_deadline() is None
