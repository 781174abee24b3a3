"""Store conformance (both backends): commit semantics, record round-trips, tokens, environments."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import asyncpg
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
    token,
    work,
)
from workyard.domain.models import Environment, Session, TokenKind, WorkState
from workyard.domain.pagination import PageRequest, make_page
from workyard.store.base import Delete, EnvironmentFilter, Insert, Replace, Store

UNICODE_META = {
    "ключ": "значение",
    "emoji 🚀": "🦀 crab \U0001f600",
    "rtl": "مرحبا بالعالم",
    "cjk": "漢字かなカナ한국어",
    "quotes": "\"'\\ / \n\t\u0000 end",
    "empty": "",
}
INTEGRITY = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


# commit ------------------------------------------------------------------------------------------
async def test_commit_of_nothing_succeeds(any_store: Store) -> None:
    assert await any_store.commit([]) is True


async def test_version_miss_in_second_write_rolls_back_the_first(any_store: Store) -> None:
    a, b = env(1), env(2)
    await insert(any_store, a, b)
    new_a = replace(a, name="renamed a", version=2)
    new_b = replace(b, name="renamed b", version=2)
    third = env(3)

    ok = await any_store.commit([Replace(new_a, 1), Replace(new_b, 99), Insert(third)])

    assert ok is False
    assert await any_store.get_environment(a.id) == a
    assert await any_store.get_environment(b.id) == b
    assert await any_store.get_environment(third.id) is None


async def test_version_miss_after_an_insert_rolls_back_the_insert(any_store: Store) -> None:
    a = env(1)
    await insert(any_store, a)
    fresh = env(2)
    ok = await any_store.commit([Insert(fresh), Replace(replace(a, version=2), 5)])
    assert ok is False
    assert await any_store.get_environment(fresh.id) is None
    assert await any_store.get_environment(a.id) == a


async def test_all_writes_apply_together(any_store: Store) -> None:
    a = env(1)
    await insert(any_store, a)
    e2 = env(2)
    s = session(1, e2.id)
    w = work(1, e2.id, session_id=s.id)
    renamed = replace(a, name="new name", version=2)
    assert await any_store.commit([Insert(e2), Insert(s), Insert(w), Replace(renamed, 1)])
    assert await any_store.get_environment(a.id) == renamed
    assert await any_store.get_environment(e2.id) == e2
    assert await any_store.get_session(s.id) == s
    assert await any_store.get_work(w.id) == w


async def test_failing_insert_raises_and_rolls_back(any_store: Store) -> None:
    await insert(any_store, token(1))
    e = env(1)
    with pytest.raises(INTEGRITY):
        await any_store.commit([Insert(e), Insert(token(2, token_hash=token(1).token_hash))])
    assert await any_store.get_environment(e.id) is None
    assert await any_store.count_tokens() == 1
    with pytest.raises(INTEGRITY):  # a session must reference an existing environment
        await any_store.commit([Insert(session(1, ident("env", 404)))])
    assert await any_store.commit([Insert(e)])  # the store is still usable


async def test_replace_requires_the_expected_version(any_store: Store) -> None:
    e = env(1)
    await insert(any_store, e)
    v2 = replace(e, description="second", version=2)
    assert await any_store.commit([Replace(v2, 1)])
    assert await any_store.get_environment(e.id) == v2
    assert await any_store.commit([Replace(replace(e, description="stale", version=2), 1)]) is False
    assert await any_store.get_environment(e.id) == v2
    v3 = replace(v2, description="third", version=3)
    assert await any_store.commit([Replace(v3, 2)])
    assert await any_store.get_environment(e.id) == v3


async def test_replace_of_a_missing_record_misses(any_store: Store) -> None:
    assert await any_store.commit([Replace(env(9), 1)]) is False
    assert await any_store.commit([Replace(work(9, ident("env", 9)), 1)]) is False
    assert await any_store.commit([Replace(session(9, ident("env", 9)), 1)]) is False
    assert await any_store.get_environment(ident("env", 9)) is None


# round-trips -------------------------------------------------------------------------------------
async def test_environment_round_trip_every_field(any_store: Store) -> None:
    full = env(
        1,
        name="Ünïcødé 名前 🚀",
        description="multi\nline \"description\" with 'quotes' and \\ backslash",
        config={"type": "self_hosted", "nested": {"list": [1, 2.5, None, True, "ß"]}},
        metadata=UNICODE_META,
        archived_at=T0 + 5 * SECOND,
        updated_at=T0 + 7 * SECOND,
        version=7,
    )
    zero = env(2, archived_at=0, created_at=0, updated_at=0)  # 0 is not NULL
    await insert(any_store, full, zero)
    assert await any_store.get_environment(full.id) == full
    assert await any_store.get_environment(zero.id) == zero
    assert await any_store.get_environment(ident("env", 3)) is None


@pytest.mark.parametrize(
    "agent",
    [None, "claude-code", "", {"type": "custom", "options": {"model": "x", "n": [1, "二"]}}],
    ids=["null", "string", "empty-string", "object"],
)
async def test_session_round_trip_every_field(any_store: Store, agent: object) -> None:
    e = env(1)
    w = work(1, e.id, state=WorkState.ACTIVE)
    s = session(
        1,
        e.id,
        agent=agent,
        title="Заголовок 🎯",
        metadata=UNICODE_META,
        work_id=w.id,
        archived_at=T0 + 3 * SECOND,
        updated_at=T0 + 4 * SECOND,
        version=4,
    )
    bare = session(2, e.id)
    await insert(any_store, e, w, s, bare)
    assert await any_store.get_session(s.id) == replace(s, work_state=WorkState.ACTIVE)
    assert await any_store.get_session(bare.id) == bare  # no work item: work_state None


async def test_work_round_trip_every_field(any_store: Store) -> None:
    e = env(1)
    full = work(
        1,
        e.id,
        state=WorkState.STOPPING,
        acknowledged_at=T0 + 1,
        started_at=T0 + 2,
        latest_heartbeat_at=T0 + 3,
        stop_requested_at=T0 + 4,
        stopped_at=T0 + 5,
        metadata=UNICODE_META,
        delivered_at=T0 + 6,
        delivered_to="worker ✓",
        holder="holder ✓",
        lease_expires_at=T0 + 7,
        version=12,
    )
    bare = work(2, e.id)
    zeros = work(3, e.id, acknowledged_at=0, delivered_at=0, lease_expires_at=0, created_at=0)
    await insert(any_store, e, full, bare, zeros)
    assert await any_store.get_work(full.id) == full
    assert await any_store.get_work(bare.id) == bare
    assert await any_store.get_work(zeros.id) == zeros
    assert await any_store.get_work(ident("work", 4)) is None


# tokens ------------------------------------------------------------------------------------------
async def test_tokens(any_store: Store) -> None:
    assert await any_store.count_tokens() == 0
    assert await any_store.list_tokens() == []
    admin = token(3, kind=TokenKind.ADMIN, name="админ")
    worker = token(
        1,
        kind=TokenKind.WORKER,
        environment_ids=(ident("env", 1), ident("env", 2)),
        expires_at=T0 + 60 * SECOND,
        revoked_at=T0 + 30 * SECOND,
    )
    member = token(2, environment_ids=(ident("env", 7),))
    await insert(any_store, admin, worker, member)

    assert await any_store.count_tokens() == 3
    assert await any_store.list_tokens() == [worker, member, admin]  # by id
    assert await any_store.token_by_hash(worker.token_hash) == worker
    assert await any_store.token_by_hash("no such hash") is None
    assert await any_store.get_token(member.id) == member
    assert await any_store.get_token(ident("tok", 9)) is None


async def test_token_replace_revokes(any_store: Store) -> None:
    t = token(1)
    await insert(any_store, t)
    revoked = replace(t, name="renamed", revoked_at=T0 + SECOND, expires_at=T0 + 2 * SECOND)
    assert await any_store.commit([Replace(revoked, 0)])
    assert await any_store.get_token(t.id) == revoked
    assert await any_store.token_by_hash(t.token_hash) == revoked
    assert await any_store.commit([Replace(token(2), 0)]) is False  # unknown token


# environments ------------------------------------------------------------------------------------
async def _environments(store: Store, n: int) -> list[Environment]:
    envs = [env(i, archived_at=T0 if i % 3 == 0 else None) for i in range(1, n + 1)]
    await insert(store, *envs)
    return envs


async def test_list_environments_descending_with_limit_plus_one(any_store: Store) -> None:
    envs = await _environments(any_store, 7)
    live = [e for e in reversed(envs) if e.archived_at is None]
    everything = list(reversed(envs))
    flt = EnvironmentFilter()
    assert await any_store.list_environments(flt, PageRequest(100)) == live
    assert await any_store.list_environments(flt, PageRequest(2)) == live[:3]
    archived_too = EnvironmentFilter(include_archived=True)
    assert await any_store.list_environments(archived_too, PageRequest(100)) == everything

    # before: the probe row (farthest from the anchor) comes first; make_page drops it
    anchor = everything[5].id  # env 2
    rows = await any_store.list_environments(archived_too, PageRequest(2, anchor, "before"))
    assert [e.id for e in rows] == [ident("env", n) for n in (5, 4, 3)]
    page = make_page(rows, PageRequest(2, anchor, "before"), lambda e: e.id)
    assert [e.id for e in page.data] == [ident("env", 4), ident("env", 3)]
    assert page.has_more is True

    rows = await any_store.list_environments(archived_too, PageRequest(3, anchor, "after"))
    assert [e.id for e in rows] == [ident("env", 1)]


@pytest.mark.parametrize("include_archived", [False, True])
async def test_list_environments_every_page_shape(any_store: Store, include_archived: bool) -> None:
    envs = await _environments(any_store, 8)
    listed = [e.id for e in reversed(envs) if include_archived or e.archived_at is None]
    flt = EnvironmentFilter(include_archived=include_archived)
    for page in page_shapes(sorted(e.id for e in envs)):
        rows = await any_store.list_environments(flt, page)
        assert [e.id for e in rows] == expected_window(listed, page, descending=True), page


async def test_list_environments_created_bounds_are_inclusive(any_store: Store) -> None:
    envs = await _environments(any_store, 6)
    flt = EnvironmentFilter(
        include_archived=True, created_gte=envs[1].created_at, created_lte=envs[4].created_at
    )
    rows = await any_store.list_environments(flt, PageRequest(100))
    assert rows == [envs[4], envs[3], envs[2], envs[1]]
    only_gte = EnvironmentFilter(created_gte=envs[3].created_at)  # env 3 (archived) excluded
    assert await any_store.list_environments(only_gte, PageRequest(100)) == [envs[4], envs[3]]
    only_lte = EnvironmentFilter(created_lte=envs[1].created_at)
    assert await any_store.list_environments(only_lte, PageRequest(100)) == [envs[1], envs[0]]
    empty = EnvironmentFilter(created_gte=envs[2].created_at + 1, created_lte=envs[2].created_at)
    assert await any_store.list_environments(empty, PageRequest(100)) == []


async def test_environment_referenced_and_delete(any_store: Store) -> None:
    used, unused, deleted_only = env(1), env(2), env(3)
    s = session(1, used.id)
    gone = session(2, deleted_only.id, deleted_at=T0)
    await insert(any_store, used, unused, deleted_only, s, gone)

    assert await any_store.environment_referenced(used.id) is True
    assert await any_store.environment_referenced(deleted_only.id) is True  # deleted ones count
    assert await any_store.environment_referenced(unused.id) is False
    assert await any_store.environment_referenced(ident("env", 9)) is False

    assert await any_store.commit([Delete(Environment, used.id)]) is False
    assert await any_store.get_environment(used.id) == used
    assert await any_store.commit([Delete(Environment, deleted_only.id)]) is False
    assert await any_store.commit([Delete(Environment, unused.id)]) is True
    assert await any_store.get_environment(unused.id) is None
    assert await any_store.commit([Delete(Environment, unused.id)]) is False  # already gone


async def test_refused_delete_rolls_back_the_whole_commit(any_store: Store) -> None:
    used, other = env(1), env(2)
    await insert(any_store, used, other, session(1, used.id))
    renamed = replace(other, name="renamed", version=2)
    assert await any_store.commit([Replace(renamed, 1), Delete(Environment, used.id)]) is False
    assert await any_store.get_environment(other.id) == other


async def test_session_insert_then_get(any_store: Store) -> None:
    e = env(1)
    s: Session = session(1, e.id, agent="a")
    await insert(any_store, e, s)
    assert await any_store.get_session(s.id) == s
    assert await any_store.get_session(ident("sess", 2)) is None
