"""Queue operations at 1 k and 1 M queued items, side by side (service level, no HTTP).

    .venv/bin/python bench/scale.py [--large 1000000] [--backend sqlite|postgres]

Prints per-operation latency (median and p99, microseconds) for a small and a large queue and the
ratio large/small: flat ratios mean the claim, heartbeat, stop, stats and idle-poll paths don't
depend on queue depth. The idle poll is an environment with nothing deliverable: it must not touch
the database at all (the store's query counter is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from workyard.clock import SystemClock
from workyard.config import Settings
from workyard.domain.models import Environment, Session, TokenKind, WorkItem, WorkState
from workyard.ids import new_id
from workyard.service.auth import Principal
from workyard.service.container import Services, build_services
from workyard.store import Insert, Store
from workyard.store.postgres.store import PostgresStore

PG_URL = os.environ.get("WORKYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

ADMIN = Principal("tok_bench", TokenKind.ADMIN)
SAMPLES = 2000


async def fill(store: Store, env_id: str, count: int) -> None:
    now = time.time_ns() // 1000
    batch: list[Insert] = []
    for _ in range(count):
        sid, wid = new_id("sess"), new_id("work")
        batch.append(Insert(Session(sid, env_id, None, None, {}, wid, None, now, now)))
        batch.append(Insert(WorkItem(wid, env_id, sid, WorkState.QUEUED, now)))
        if len(batch) >= 10_000:
            await store.commit(batch)
            batch = []
    if batch:
        await store.commit(batch)


async def timed(op: Callable[[], Awaitable[object]], samples: int = SAMPLES) -> list[float]:
    out = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        await op()
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


async def measure(svc: Services, size: int) -> dict[str, tuple[float, float]]:
    now = svc.clock.now()
    env = Environment(new_id("env"), "bench", "", {"type": "self_hosted"}, {}, None, now, now)
    idle = Environment(new_id("env"), "idle", "", {"type": "self_hosted"}, {}, None, now, now)
    await svc.store.commit([Insert(env), Insert(idle)])
    await fill(svc.store, env.id, size)
    await svc.queue.stop()
    await svc.queue.start()  # rebuild the readiness index from the filled store
    q = svc.queue
    claimed: list[WorkItem] = []

    async def claim() -> None:
        item = await q.poll(ADMIN, env.id, "bench", None, 10**9)  # never redeliver here
        assert item is not None
        claimed.append(item)

    results = {"claim (poll)": summary(await timed(claim))}
    items = iter(list(claimed))

    async def lifecycle() -> None:
        item = next(items)
        await q.mutate(ADMIN, env.id, item.id, lambda w, n: _ack(q, w, n))
        await q.mutate(ADMIN, env.id, item.id, lambda w, n: _beat(q, w, n))
        await q.mutate(ADMIN, env.id, item.id, lambda w, n: _stop(w, n))
        await q.mutate(ADMIN, env.id, item.id, lambda w, n: _stop(w, n))

    results["ack+heartbeat+stop+stop"] = summary(await timed(lifecycle, SAMPLES))
    results["stats"] = summary(await timed(lambda: q.stats(ADMIN, env.id), 500))
    results["idle poll"] = summary(await timed(lambda: q.poll(ADMIN, idle.id, "w", None, 5000)))
    return results


def _ack(q: object, w: WorkItem, now: int) -> WorkItem:
    from workyard.domain import work as wm

    return wm.ack(w, "bench", now, 60)


def _beat(q: object, w: WorkItem, now: int) -> WorkItem:
    from workyard.domain import work as wm

    return wm.heartbeat(w, "NO_HEARTBEAT", None, now, 60).item


def _stop(w: WorkItem, now: int) -> WorkItem:
    from workyard.domain import work as wm

    return wm.stop(w, False, now)


async def run_size(size: int, backend: str) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = None
        schema = f"bench_{new_id('tok')[-8:]}"
        if backend == "postgres":
            await _pg(f'CREATE SCHEMA "{schema}"')
            store = PostgresStore(PG_URL, schema=schema)
        svc = build_services(settings, store=store, clock=SystemClock())
        await svc.start()
        try:
            return await measure(svc, size)
        finally:
            await svc.stop()
            if backend == "postgres":
                await _pg(f'DROP SCHEMA "{schema}" CASCADE')


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    small = asyncio.run(run_size(args.small + SAMPLES * 2, args.backend))
    large = asyncio.run(run_size(args.large, args.backend))
    print(f"backend: {args.backend}; queue of {args.small:,} vs {args.large:,} items")
    print(
        f"{'operation':28} {'small p50':>10} {'p99':>8} {'large p50':>10} {'p99':>8} {'ratio':>6}"
    )
    for name in small:
        s50, s99 = small[name]
        l50, l99 = large[name]
        print(f"{name:28} {s50:10.0f} {s99:8.0f} {l50:10.0f} {l99:8.0f} {l50 / s50:6.2f}")


if __name__ == "__main__":
    main()
