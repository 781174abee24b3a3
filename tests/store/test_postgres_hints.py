"""A replica's hint of its own last write never answers for a change another replica made since."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.pg import PG_URL
from workyard.clock import SystemClock
from workyard.config import Settings
from workyard.domain import work as wm
from workyard.domain.models import Environment, TokenKind, WorkState
from workyard.errors import ConflictError
from workyard.service.auth import Principal
from workyard.service.container import Services, build_services
from workyard.store import Insert
from workyard.store.postgres.store import PostgresStore

ADMIN = Principal("tok_test", TokenKind.ADMIN)
TTL = 60


@pytest.fixture
async def replicas(pg_schema: str, tmp_path: Path) -> AsyncIterator[tuple[Services, Services]]:
    pair = []
    for name in ("a", "b"):
        store = PostgresStore(PG_URL, schema=pg_schema, pool_size=2)
        svc = build_services(Settings(data_dir=tmp_path / name), store=store, clock=SystemClock())
        await svc.start()
        pair.append(svc)
    try:
        yield pair[0], pair[1]
    finally:
        for svc in pair:
            await svc.stop()


async def _claimed(a: Services) -> tuple[str, str]:
    now = a.clock.now()
    env = Environment("env_" + "0" * 31 + "1", "e", "", {"type": "self_hosted"}, {}, None, now, now)
    await a.store.commit([Insert(env)])
    await a.sessions.create(ADMIN, env.id, None, None, {})
    item = await a.queue.poll(ADMIN, env.id, "w1", None, 30_000)
    assert item is not None
    return env.id, item.id


async def _force_stop(b: Services, env_id: str, work_id: str) -> None:
    stopped = await b.queue.mutate(ADMIN, env_id, work_id, lambda w, t: wm.stop(w, True, t))
    assert stopped.state is WorkState.STOPPED


async def test_a_write_from_a_stale_hint_misses_and_rechecks(
    replicas: tuple[Services, Services],
) -> None:
    a, b = replicas
    env_id, work_id = await _claimed(a)  # a's hint: queued, delivered to w1
    await _force_stop(b, env_id, work_id)
    with pytest.raises(ConflictError):
        await a.queue.mutate(ADMIN, env_id, work_id, lambda w, t: wm.ack(w, "w1", t, TTL))
    stored = await a.store.get_work(work_id)
    assert stored is not None and stored.state is WorkState.STOPPED


async def test_a_no_op_on_a_stale_hint_is_rechecked(replicas: tuple[Services, Services]) -> None:
    a, b = replicas
    env_id, work_id = await _claimed(a)
    acked = await a.queue.mutate(ADMIN, env_id, work_id, lambda w, t: wm.ack(w, "w1", t, TTL))
    assert acked.state is WorkState.STARTING  # a's hint: starting, held by w1
    await _force_stop(b, env_id, work_id)
    # a repeated ack is a no-op on the hint, but the item is stopped: the answer must say so
    with pytest.raises(ConflictError):
        await a.queue.mutate(ADMIN, env_id, work_id, lambda w, t: wm.ack(w, "w1", t, TTL))


async def test_a_current_hint_writes_what_a_read_would(replicas: tuple[Services, Services]) -> None:
    a, _ = replicas
    env_id, work_id = await _claimed(a)
    acked = await a.queue.mutate(ADMIN, env_id, work_id, lambda w, t: wm.ack(w, "w1", t, TTL))
    assert await a.store.get_work(work_id) == acked
