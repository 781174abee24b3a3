"""Store conformance (both backends): dashboard sessions (migration 0006)."""

from __future__ import annotations

import pytest

from tests.store.records import SECOND, T0, ident
from workyard.store.base import Store
from workyard.store.dashboard import DashboardSession


def _row(n: int, expires_in: int = 60, token: int = 1) -> DashboardSession:
    return DashboardSession(f"{n:064x}", ident("tok", token), T0, T0 + expires_in * SECOND)


async def test_a_session_is_found_by_its_hash_until_it_expires(any_store: Store) -> None:
    row = _row(1)
    await any_store.insert_dashboard_session(row)
    assert await any_store.get_dashboard_session(row.id_hash, T0) == row
    assert await any_store.get_dashboard_session(row.id_hash, row.expires_at - 1) == row
    assert await any_store.get_dashboard_session(row.id_hash, row.expires_at) is None
    assert await any_store.get_dashboard_session(_row(2).id_hash, T0) is None


async def test_delete_reports_whether_there_was_a_session(any_store: Store) -> None:
    one, two = _row(1), _row(2, token=2)
    await any_store.insert_dashboard_session(one)
    await any_store.insert_dashboard_session(two)
    assert await any_store.delete_dashboard_session(one.id_hash) is True
    assert await any_store.delete_dashboard_session(one.id_hash) is False
    assert await any_store.get_dashboard_session(one.id_hash, T0) is None
    assert await any_store.get_dashboard_session(two.id_hash, T0) == two


async def test_an_id_hash_is_inserted_once(any_store: Store) -> None:
    await any_store.insert_dashboard_session(_row(1))
    with pytest.raises(Exception):  # noqa: B017, PT011 - each backend's own integrity error
        await any_store.insert_dashboard_session(_row(1, token=2))
    found = await any_store.get_dashboard_session(_row(1).id_hash, T0)
    assert found is not None and found.token_id == ident("tok", 1)


async def test_prune_deletes_expired_sessions_oldest_first_in_batches(any_store: Store) -> None:
    rows = [_row(n, expires_in=n * 10) for n in range(1, 6)]  # expire at T0 + 10 s … 50 s
    for row in rows:
        await any_store.insert_dashboard_session(row)
    cutoff = T0 + 40 * SECOND  # rows 1-4 expired at or before it
    assert await any_store.prune_dashboard_sessions(cutoff, 3) == 3
    assert await any_store.get_dashboard_session(rows[3].id_hash, T0) == rows[3]
    assert await any_store.get_dashboard_session(rows[2].id_hash, T0) is None
    assert await any_store.prune_dashboard_sessions(cutoff, 3) == 1
    assert await any_store.prune_dashboard_sessions(cutoff, 3) == 0
    for row in rows[:4]:
        assert await any_store.get_dashboard_session(row.id_hash, T0) is None
    assert await any_store.get_dashboard_session(rows[4].id_hash, T0) == rows[4]
