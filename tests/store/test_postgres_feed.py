"""PostgreSQL change feed: ``follow`` delivers a snapshot, then every committed work change to every
replica (``own`` tells a replica's own commits apart), and starts over after a lost connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace

import asyncpg
import pytest

from tests.pg import PG_URL, fresh_schema
from tests.store.records import SECOND, T0, env, insert, work
from workyard.domain import work as wm
from workyard.domain.models import WorkItem, WorkState
from workyard.store.base import Insert, ItemSummary, ReadinessSnapshot, Replace, WorkChange
from workyard.store.postgres.store import PostgresStore

WAIT = 10.0  # seconds to wait for a notification or a reconnect to arrive (not a timing assertion)


class RecordingFeed:
    """A ``ChangeFeed`` that records what it is told, in order.

    Only changes to ``environments`` are recorded: the channel is shared by every schema of the
    database (see ``test_the_feed_only_carries_its_own_schema``), and other tests commit work there.
    """

    def __init__(self, *environments: str) -> None:
        self.environments = set(environments)
        self.log: list[str] = []
        self.snapshots: list[ReadinessSnapshot] = []
        self.batches: list[tuple[list[WorkChange], bool]] = []
        self.event_sessions: list[str] = []
        self.token_ids: list[str] = []
        self._poked = asyncio.Event()

    def reset(self, snapshot: ReadinessSnapshot) -> None:
        self.log.append("reset")
        self.snapshots.append(snapshot)
        self._poked.set()

    def changes(self, changes: Sequence[WorkChange], own: bool) -> None:
        mine = [
            c for c in changes if c.environment_id in self.environments or not self.environments
        ]
        if mine:
            self.log.append("changes")
            self.batches.append((mine, own))
            self._poked.set()

    def lost(self) -> None:
        self.log.append("lost")
        self._poked.set()

    def events(self, session_ids: Sequence[str]) -> None:
        self.event_sessions.extend(session_ids)
        self._poked.set()

    def tokens(self, token_ids: Sequence[str]) -> None:
        self.token_ids.extend(token_ids)
        self._poked.set()

    def received(self) -> list[tuple[WorkChange, bool]]:
        return [(c, own) for batch, own in self.batches for c in batch]

    async def until(self, done: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not done():
                self._poked.clear()
                await self._poked.wait()

        await asyncio.wait_for(wait(), WAIT)


@pytest.fixture
async def replica(pg_store: PostgresStore, pg_schema: str) -> AsyncIterator[PostgresStore]:
    """A second store on the same schema: another server sharing the database."""
    other = PostgresStore(PG_URL, schema=pg_schema, pool_size=4)
    await other.open()
    try:
        yield other
    finally:
        await other.close()


def _change(before: WorkItem | None, after: WorkItem | None) -> WorkChange:
    return WorkChange.of(before, after)


async def test_snapshot_first_then_every_change_to_every_replica(
    pg_store: PostgresStore, replica: PostgresStore
) -> None:
    a = env(1)
    early = work(1, a.id)
    await insert(pg_store, a, early)
    mine, theirs = RecordingFeed(a.id), RecordingFeed(a.id)
    await pg_store.follow(mine)
    await replica.follow(theirs)
    for feed in (mine, theirs):
        assert feed.log == ["reset"]
        assert feed.snapshots[0].undelivered == {a.id: 1}
        assert feed.snapshots[0].token

    second = work(2, a.id)
    inserted = _change(None, second)
    assert await pg_store.commit([Insert(second)], [inserted])
    await mine.until(lambda: len(mine.received()) == 1)
    await theirs.until(lambda: len(theirs.received()) == 1)
    assert mine.received() == [(inserted, True)]
    assert theirs.received() == [(inserted, False)]

    # a commit that misses changes nothing and publishes nothing; the next one is delivered next
    acked = replace(wm.ack(early, "w", T0, 60), version=2)
    assert await replica.commit([Replace(acked, 7)], [_change(early, acked)]) is False
    assert await replica.commit([Replace(acked, 1)], [_change(early, acked)])
    await mine.until(lambda: len(mine.received()) == 2)
    await theirs.until(lambda: len(theirs.received()) == 2)
    assert mine.received()[1] == (_change(early, acked), False)
    assert theirs.received()[1] == (_change(early, acked), True)

    # claims publish too: the item left the undelivered count and is now delivered
    claimed = await pg_store.claim_work(a.id, T0, "w2", T0 + SECOND)
    assert claimed is not None and claimed.id == second.id
    await theirs.until(lambda: len(theirs.received()) == 3)
    change, own = theirs.received()[2]
    assert own is False and change.id == second.id and change.environment_id == a.id
    assert change.after == ItemSummary(WorkState.QUEUED, T0 + SECOND, None)
    assert change.before is not None and change.before.delivered_at is None
    await mine.until(lambda: len(mine.received()) == 3)
    assert mine.received()[2] == (change, True)
    assert mine.log == theirs.log == ["reset", "changes", "changes", "changes"]


async def test_large_commits_arrive_whole_and_in_order(
    pg_store: PostgresStore, replica: PostgresStore
) -> None:
    a = env(1)
    await insert(pg_store, a)
    feed = RecordingFeed(a.id)
    await replica.follow(feed)
    items = [work(n, a.id, metadata={"n": str(n)}) for n in range(1, 46)]
    changes = [_change(None, w) for w in items]
    assert await pg_store.commit([Insert(w) for w in items], changes)
    stopped = [replace(wm.stop(w, True, T0 + SECOND), version=2) for w in items[:3]]
    stop_changes = [_change(w, s) for w, s in zip(items[:3], stopped, strict=True)]
    assert await pg_store.commit([Replace(s, 1) for s in stopped], stop_changes)

    await feed.until(lambda: len(feed.received()) == 48)
    assert feed.received() == [(c, False) for c in [*changes, *stop_changes]]
    assert len(feed.batches) > 2  # split into several notifications, none lost


async def _follow_and_find_listener(
    store: PostgresStore, feed: RecordingFeed, admin: asyncpg.Connection
) -> int:
    """Start following and return the listener's backend pid (its connection is named so)."""
    await store.follow(feed)
    assert feed.log == ["reset"]
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
        store.application_name + "/listener",
    )
    assert len(rows) == 1, rows
    return int(rows[0]["pid"])


async def test_lost_listener_is_reported_and_the_feed_starts_over(pg_store: PostgresStore) -> None:
    a = env(1)
    await insert(pg_store, a, work(1, a.id))
    admin = await asyncpg.connect(PG_URL)
    try:
        feed = RecordingFeed(a.id)
        listener = await _follow_and_find_listener(pg_store, feed, admin)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", listener)
        await feed.until(lambda: "lost" in feed.log and feed.log[-1] == "reset")
        assert feed.log[:3] == ["reset", "lost", "reset"]
        assert feed.snapshots[-1].undelivered == {a.id: 1}
        pids = await admin.fetch("SELECT pid FROM pg_stat_activity")
        assert listener not in {int(r["pid"]) for r in pids}  # a new connection listens now

        # the new listener hears commits again
        second = work(2, a.id)
        assert await pg_store.commit([Insert(second)], [_change(None, second)])
        await feed.until(lambda: len(feed.received()) == 1)
        assert feed.received() == [(_change(None, second), True)]
    finally:
        await admin.close()


async def test_changes_during_an_outage_are_in_the_next_snapshot_or_feed(
    pg_store: PostgresStore, replica: PostgresStore
) -> None:
    a = env(1)
    await insert(pg_store, a)
    feed = RecordingFeed(a.id)
    admin = await asyncpg.connect(PG_URL)
    try:
        listener = await _follow_and_find_listener(replica, feed, admin)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", listener)
        items = [work(n, a.id) for n in range(1, 4)]
        for w in items:  # committed while the listener is down or reconnecting
            assert await pg_store.commit([Insert(w)], [_change(None, w)])
        await feed.until(lambda: feed.log.count("reset") >= 2)

        def accounted() -> int:
            last = len(feed.log) - 1 - feed.log[::-1].index("reset")
            after_reset = feed.log[last + 1 :].count("changes")
            seen = feed.batches[len(feed.batches) - after_reset :] if after_reset else []
            return feed.snapshots[-1].undelivered.get(a.id, 0) + sum(len(b) for b, _ in seen)

        await feed.until(lambda: accounted() == 3)
    finally:
        await admin.close()


async def test_the_feed_only_carries_its_own_schema(pg_store: PostgresStore) -> None:
    a = env(1)
    await insert(pg_store, a)
    feed = RecordingFeed()  # records everything it is told
    await pg_store.follow(feed)
    async with fresh_schema() as elsewhere:
        stranger = PostgresStore(PG_URL, schema=elsewhere, pool_size=2)
        await stranger.open()
        try:
            b = env(2)
            foreign = work(1, b.id)
            await insert(stranger, b)
            assert await stranger.commit([Insert(foreign)], [_change(None, foreign)])
        finally:
            await stranger.close()
    own = work(2, a.id)
    assert await pg_store.commit([Insert(own)], [_change(None, own)])
    # notifications arrive in commit order: once our own change is here, a leaked one would be too
    await feed.until(lambda: any(c.id == own.id for c, _ in feed.received()))
    assert [c.environment_id for c, _ in feed.received()] == [a.id]
