"""Store conformance (both backends): sessions — get with the joined work state, list, filters."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from tests.store.records import SECOND, T0, env, expected_window, insert, page_shapes, session, work
from workyard.domain.models import Session, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store.base import Record, Replace, SessionFilter, Store

ALL = PageRequest(100)


@dataclass(frozen=True)
class World:
    """Two environments; sessions 1..9 with work items in various states."""

    env_a: str
    env_b: str
    sessions: list[Session]  # as get_session returns them (work_state joined)


async def _world(store: Store) -> World:
    a, b = env(1), env(2)
    states = {
        1: WorkState.QUEUED,
        2: WorkState.STARTING,
        3: WorkState.ACTIVE,
        4: WorkState.STOPPING,
        5: WorkState.STOPPED,
        6: None,  # no work item
        7: WorkState.QUEUED,
        8: WorkState.ACTIVE,
        9: WorkState.QUEUED,
    }
    records: list[Record] = []
    sessions: list[Session] = []
    for n, state in states.items():
        env_id = b.id if n in (7, 8) else a.id
        w = None if state is None else work(n, env_id, state=state)
        s = session(
            n,
            env_id,
            agent={"n": n},
            work_id=None if w is None else w.id,
            archived_at=T0 if n in (4, 8) else None,
            deleted_at=T0 if n == 9 else None,
        )
        records.extend(r for r in (w, s) if r is not None)
        sessions.append(replace(s, work_state=state))
    await insert(store, a, b)
    await insert(store, *records)
    return World(a.id, b.id, sessions)


def _ids(sessions: list[Session]) -> list[str]:
    return [s.id for s in sessions]


async def test_get_session_joins_the_work_state(any_store: Store) -> None:
    world = await _world(any_store)
    for expected in world.sessions:
        got = await any_store.get_session(expected.id)
        if expected.deleted_at is not None:
            assert got is None
        else:
            assert got == expected


async def test_get_session_follows_the_work_item(any_store: Store) -> None:
    e = env(1)
    w = work(1, e.id)
    s = session(1, e.id, work_id=w.id)
    await insert(any_store, e, w, s)
    assert (await any_store.get_session(s.id)) == replace(s, work_state=WorkState.QUEUED)
    started = replace(w, state=WorkState.STARTING, acknowledged_at=T0, version=2)
    assert await any_store.commit([Replace(started, 1)])
    got = await any_store.get_session(s.id)
    assert got is not None and got.work_state is WorkState.STARTING

    # the session now points at a second work item: the join follows work_id
    w2 = work(2, e.id, session_id=s.id, state=WorkState.STOPPED)
    moved = replace(s, work_id=w2.id, version=2)
    await insert(any_store, w2)
    assert await any_store.commit([Replace(moved, 1)])
    assert await any_store.get_session(s.id) == replace(moved, work_state=WorkState.STOPPED)


async def test_deleting_a_session_hides_it(any_store: Store) -> None:
    e = env(1)
    s = session(1, e.id)
    await insert(any_store, e, s)
    deleted = replace(s, deleted_at=T0 + SECOND, version=2)
    assert await any_store.commit([Replace(deleted, 1)])
    assert await any_store.get_session(s.id) is None
    assert await any_store.list_sessions(SessionFilter(include_archived=True), ALL, False) == []
    # deleted records are final: a stale replace cannot resurrect them either
    assert await any_store.commit([Replace(replace(s, version=2), 1)]) is False


@pytest.mark.parametrize("descending", [False, True])
async def test_list_sessions_order_and_archived(any_store: Store, descending: bool) -> None:
    world = await _world(any_store)
    visible = [s for s in world.sessions if s.deleted_at is None]
    listed = sorted(visible, key=lambda s: s.id, reverse=descending)
    unarchived = [s for s in listed if s.archived_at is None]

    assert await any_store.list_sessions(SessionFilter(), ALL, descending) == unarchived
    everything = SessionFilter(include_archived=True)
    assert await any_store.list_sessions(everything, ALL, descending) == listed
    assert await any_store.list_sessions(everything, PageRequest(2), descending) == listed[:3]


@pytest.mark.parametrize("descending", [False, True])
async def test_list_sessions_every_page_shape(any_store: Store, descending: bool) -> None:
    world = await _world(any_store)
    listed = sorted(
        (s.id for s in world.sessions if s.deleted_at is None and s.archived_at is None),
        reverse=descending,
    )
    for page in page_shapes(sorted(s.id for s in world.sessions)):
        rows = await any_store.list_sessions(SessionFilter(), page, descending)
        assert _ids(rows) == expected_window(listed, page, descending), page


@pytest.mark.parametrize("descending", [False, True])
async def test_list_sessions_before_returns_probe_row_first(
    any_store: Store, descending: bool
) -> None:
    world = await _world(any_store)
    ids = sorted(s.id for s in world.sessions if s.archived_at is None and s.deleted_at is None)
    # unarchived, undeleted: sessions 1, 2, 3, 5, 6, 7
    listed = list(reversed(ids)) if descending else ids
    anchor = listed[4]
    rows = await any_store.list_sessions(
        SessionFilter(), PageRequest(2, anchor, "before"), descending
    )
    assert _ids(rows) == listed[1:4]  # probe listed[1], then the two nearest the anchor
    rows = await any_store.list_sessions(
        SessionFilter(), PageRequest(2, anchor, "after"), descending
    )
    assert _ids(rows) == listed[5:]


async def test_list_sessions_filters(any_store: Store) -> None:
    world = await _world(any_store)
    by_n = {int(s.id[-2:], 16): s for s in world.sessions}

    async def numbers(flt: SessionFilter, descending: bool = False) -> list[int]:
        rows = await any_store.list_sessions(flt, ALL, descending)
        return [int(s.id[-2:], 16) for s in rows]

    assert await numbers(SessionFilter(environment_id=world.env_b)) == [7]
    assert await numbers(SessionFilter(environment_id=world.env_b, include_archived=True)) == [7, 8]
    assert await numbers(SessionFilter(environment_id=world.env_a), descending=True) == [
        6,
        5,
        3,
        2,
        1,
    ]

    queued = SessionFilter(states=(WorkState.QUEUED,), include_archived=True)
    assert await numbers(queued) == [1, 7]  # 9 is deleted
    live = SessionFilter(states=(WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING))
    assert await numbers(live) == [2, 3]
    assert await numbers(replace(live, include_archived=True)) == [2, 3, 4, 8]
    assert await numbers(SessionFilter(states=())) == []  # no state matches; none without work
    stopped_in_b = SessionFilter(environment_id=world.env_b, states=(WorkState.STOPPED,))
    assert await numbers(stopped_in_b) == []

    t3, t6 = by_n[3].created_at, by_n[6].created_at
    every = SessionFilter(include_archived=True)
    assert await numbers(replace(every, created_gt=t3)) == [4, 5, 6, 7, 8]
    assert await numbers(replace(every, created_gte=t3)) == [3, 4, 5, 6, 7, 8]
    assert await numbers(replace(every, created_lt=t3)) == [1, 2]
    assert await numbers(replace(every, created_lte=t3)) == [1, 2, 3]
    window = replace(every, created_gt=t3, created_lt=t6)
    assert await numbers(window) == [4, 5]
    assert await numbers(replace(window, created_gte=t3, created_gt=None)) == [3, 4, 5]
    assert await numbers(replace(window, created_lte=t6, created_lt=None)) == [4, 5, 6]
    assert await numbers(replace(every, created_gt=t6, created_lt=t3)) == []

    combined = SessionFilter(
        environment_id=world.env_a, states=(WorkState.QUEUED, WorkState.STOPPED), created_gte=t3
    )
    assert await numbers(combined) == [5]
    assert await numbers(combined, descending=True) == [5]
