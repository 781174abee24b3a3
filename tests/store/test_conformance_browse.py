"""Store conformance (both backends): the dashboard's reads — session search, work by holder,
session titles, one event, the last hour's finished and acknowledged items, poll times."""

from __future__ import annotations

import pytest

from tests.store.records import (
    SECOND,
    T0,
    env,
    expected_window,
    ident,
    insert,
    page_shapes,
    session,
    work,
)
from workyard.domain.models import Event, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store.base import SessionFilter, SessionSearch, Store

ALL = PageRequest(100)
WIDE = 1000  # a scan limit no test world reaches
TITLES = {
    1: "Fix the build",
    2: "fix THE docs",
    3: "100% done",
    4: "a_b",
    5: "ab",
    6: None,
    7: "Fix the build",  # in the other environment
    8: "fix again",  # deleted
}
METADATA = {
    1: {"team": "core", "prio": "high"},
    2: {"team": "core"},
    3: {"team": "docs", "prio": "high"},
    4: {"team=x": "a b"},
    5: {},
    6: {"team": "core", "prio": "low"},
    7: {"team": "core"},
    8: {"team": "core"},
}


async def _sessions(store: Store) -> tuple[str, str]:
    a, b = env(1), env(2)
    records: list[object] = [a, b]
    for n, title in TITLES.items():
        w = work(n, b.id if n == 7 else a.id, state=WorkState.ACTIVE if n % 2 else WorkState.QUEUED)
        records.append(w)
        records.append(
            session(
                n,
                w.environment_id,
                title=title,
                metadata=METADATA[n],
                work_id=w.id,
                deleted_at=T0 if n == 8 else None,
            )
        )
    await insert(store, *records)  # type: ignore[arg-type]
    return a.id, b.id


async def _found(store: Store, flt: SessionFilter, search: SessionSearch) -> list[int]:
    rows, end = await store.search_sessions(flt, search, ALL, WIDE)
    assert end is None
    return [int(s.id.split("_")[1], 16) for s in rows]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (SessionSearch(), [6, 5, 4, 3, 2, 1]),
        (SessionSearch(title="fix the"), [2, 1]),  # any case, anywhere
        (SessionSearch(title="%"), [3]),  # wildcards are literal
        (SessionSearch(title="_"), [4]),
        (SessionSearch(title="nothing like it"), []),
        (SessionSearch(metadata=(("team", "core"),)), [6, 2, 1]),
        (SessionSearch(metadata=(("team", "core"), ("prio", "high"))), [1]),  # every pair
        (SessionSearch(metadata=(("prio", "high"),)), [3, 1]),
        (SessionSearch(metadata=(("team=x", "a b"),)), [4]),
        (SessionSearch(metadata=(("team", "cor"),)), []),  # values match exactly
        (SessionSearch(title="fix", metadata=(("prio", "high"),)), [1]),
    ],
)
async def test_search_sessions_by_title_and_metadata(
    any_store: Store, search: SessionSearch, expected: list[int]
) -> None:
    a, _ = await _sessions(any_store)
    assert await _found(any_store, SessionFilter(environment_id=a), search) == expected


async def test_search_sessions_combines_with_the_filter(any_store: Store) -> None:
    a, b = await _sessions(any_store)
    fix = SessionSearch(title="Fix the")
    assert await _found(any_store, SessionFilter(), fix) == [7, 2, 1]
    assert await _found(any_store, SessionFilter(environment_id=b), fix) == [7]
    assert await _found(any_store, SessionFilter(environment_ids=(a,)), fix) == [2, 1]
    queued = SessionFilter(environment_id=a, states=(WorkState.QUEUED,))
    assert await _found(any_store, queued, SessionSearch(metadata=(("team", "core"),))) == [6, 2]


async def test_search_sessions_pages_like_list_sessions(any_store: Store) -> None:
    a, _ = await _sessions(any_store)
    flt, search = SessionFilter(environment_id=a), SessionSearch(metadata=(("team", "core"),))
    found, _ = await any_store.search_sessions(flt, search, ALL, WIDE)
    matching = sorted(s.id for s in found)
    ordered = sorted(matching, reverse=True)
    for shape in page_shapes(matching):
        rows, end = await any_store.search_sessions(flt, search, shape, WIDE)
        assert [s.id for s in rows] == expected_window(ordered, shape, True), shape
        assert end is None


async def _held(store: Store) -> str:
    a, b = env(1), env(2)
    items = [
        work(1, a.id, state=WorkState.QUEUED, delivered_to="w1", delivered_at=T0),
        work(2, a.id, state=WorkState.ACTIVE, holder="w1", delivered_to="w1"),
        work(3, a.id, state=WorkState.ACTIVE, holder="w2", delivered_to="w2"),
        work(4, a.id, state=WorkState.STOPPED, holder="w1", delivered_to="w1"),
        work(5, a.id, state=WorkState.QUEUED),
        work(6, b.id, state=WorkState.ACTIVE, holder="w1", delivered_to="w1"),
        work(7, a.id, state=WorkState.STARTING, holder="w1", delivered_to="w1"),
    ]
    await insert(store, a, b, *items)
    return a.id


async def test_list_work_held_by_a_worker(any_store: Store) -> None:
    a = await _held(any_store)

    async def held(worker: str, states: tuple[WorkState, ...] | None) -> list[int]:
        rows, end = await any_store.list_work_held(a, worker, states, ALL, WIDE)
        assert end is None
        return [int(w.id.split("_")[1], 16) for w in rows]

    assert await held("w1", None) == [1, 2, 4, 7]
    assert await held("w2", None) == [3]
    assert await held("w1", (WorkState.ACTIVE, WorkState.STARTING)) == [2, 7]
    assert await held("w1", (WorkState.STOPPED,)) == [4]
    assert await held("nobody", None) == []


async def test_list_work_held_pages_like_list_work(any_store: Store) -> None:
    a = await _held(any_store)
    found, _ = await any_store.list_work_held(a, "w1", None, ALL, WIDE)
    matching = [w.id for w in found]
    for shape in page_shapes(matching):
        rows, end = await any_store.list_work_held(a, "w1", None, shape, WIDE)
        assert [w.id for w in rows] == expected_window(matching, shape, False), shape
        assert end is None


async def test_a_bounded_search_stops_after_scan_rows_and_resumes_after_them(
    any_store: Store,
) -> None:
    a, _ = await _sessions(any_store)
    flt, search = SessionFilter(environment_id=a), SessionSearch(metadata=(("team", "core"),))
    # newest first, env a holds sessions 8 (deleted) 6 5 4 3 2 1; team=core: 6, 2, 1
    rows, end = await any_store.search_sessions(flt, search, PageRequest(5), 3)
    assert [s.id for s in rows] == [ident("sess", 6)]  # looked at 8, 6 and 5 only
    assert end == ident("sess", 5)
    rows, end = await any_store.search_sessions(flt, search, PageRequest(5, end, "after"), 3)
    assert [s.id for s in rows] == [ident("sess", 2)]  # 4, 3, 2
    assert end == ident("sess", 2)
    rows, end = await any_store.search_sessions(flt, search, PageRequest(5, end, "after"), 3)
    assert ([s.id for s in rows], end) == ([ident("sess", 1)], None)  # the window ran out first
    # backwards ("before" the anchor) the scan walks the other way, nearest the anchor first
    back = PageRequest(5, ident("sess", 1), "before")
    rows, end = await any_store.search_sessions(flt, search, back, 2)
    assert ([s.id for s in rows], end) == ([ident("sess", 2)], ident("sess", 3))
    # a full page found before the scan ends is an ordinary page
    rows, end = await any_store.search_sessions(flt, SessionSearch(), PageRequest(1), 3)
    assert [s.id for s in rows] == [ident("sess", 6), ident("sess", 5)] and end == ident("sess", 5)


async def test_a_bounded_holder_filter_resumes_after_its_scan(any_store: Store) -> None:
    a = await _held(any_store)
    rows, end = await any_store.list_work_held(a, "w2", None, PageRequest(5), 2)
    assert (rows, end) == ([], ident("work", 2))  # items 1 and 2 looked at: none is w2's
    rows, end = await any_store.list_work_held(a, "w2", None, PageRequest(5, end, "after"), 2)
    assert ([w.id for w in rows], end) == ([ident("work", 3)], ident("work", 4))
    rows, end = await any_store.list_work_held(a, "w2", None, PageRequest(5, end, "after"), 9)
    assert (rows, end) == ([], None)


async def test_session_titles(any_store: Store) -> None:
    await _sessions(any_store)
    ids = [ident("sess", n) for n in (1, 6, 8)] + [ident("sess", 99)]
    assert await any_store.session_titles(ids) == {
        ident("sess", 1): "Fix the build",
        ident("sess", 6): None,
    }  # deleted and unknown sessions are left out
    assert await any_store.session_titles([]) == {}


async def test_get_event(any_store: Store) -> None:
    a = env(1)
    s1, s2 = session(1, a.id), session(2, a.id)
    big = {"content": "x" * 100_000}
    events = [
        Event(ident("evt", 1), s1.id, "user.message", T0, {"content": "hi"}),
        Event(ident("evt", 2), s1.id, "user.message", T0 + SECOND, big),
        Event(ident("evt", 3), s2.id, "user.message", T0 + SECOND, {"content": "other"}),
    ]
    await insert(any_store, a, s1, s2, *events)
    assert await any_store.get_event(s1.id, ident("evt", 2)) == events[1]
    assert await any_store.get_event(s1.id, ident("evt", 3)) is None  # another session's
    assert await any_store.get_event(s1.id, ident("evt", 9)) is None


async def test_finished_and_acknowledged_work_since(any_store: Store) -> None:
    a, b = env(1), env(2)
    since = T0 + 100 * SECOND
    items = [
        work(1, a.id, state=WorkState.STOPPED, acknowledged_at=since - SECOND,
             stopped_at=since - 1),
        work(2, a.id, state=WorkState.STOPPED, acknowledged_at=since, stopped_at=since),
        work(3, a.id, state=WorkState.STOPPED, acknowledged_at=since + 5 * SECOND,
             stopped_at=since + 9 * SECOND),
        work(4, a.id, state=WorkState.ACTIVE, acknowledged_at=since + 7 * SECOND),
        work(5, a.id, state=WorkState.QUEUED),
        work(6, b.id, state=WorkState.STOPPED, acknowledged_at=since, stopped_at=since),
    ]  # fmt: skip
    await insert(any_store, a, b, *items)
    finished = await any_store.finished_work(a.id, since, 100)
    assert [w.id for w in finished] == [ident("work", 3), ident("work", 2)]  # latest first
    acked = await any_store.acknowledged_work(a.id, since, 100)
    assert [w.id for w in acked] == [ident("work", 4), ident("work", 3), ident("work", 2)]
    assert [w.id for w in await any_store.acknowledged_work(a.id, since, 1)] == [ident("work", 4)]
    assert [w.id for w in await any_store.finished_work(b.id, since, 100)] == [ident("work", 6)]
    assert await any_store.finished_work(a.id, since + 10 * SECOND, 100) == []


async def test_poller_times_are_shared_by_replicated_stores_only(any_store: Store) -> None:
    a = env(1)
    await insert(any_store, a)
    await any_store.record_pollers([(a.id, "w1", T0 + 5 * SECOND), (a.id, "w2", T0)])
    seen = await any_store.poller_times(a.id, T0)
    if any_store.replicated:
        assert seen == {"w1": T0 + 5 * SECOND}  # w2 polled at, not after, ``since``
    else:
        assert seen == {}  # one server: the queue's own memory answers
