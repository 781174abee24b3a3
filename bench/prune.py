"""Retention under load: prune 1,000,000 stopped work items while lifecycles run (SQLite).

    .venv/bin/python bench/prune.py [--items 1000000] [--rounds 6] [--lifecycles 300]

Loads ``--items`` stopped work items stopped 60 days ago straight into a fresh SQLite database,
then alternates rounds of ``--lifecycles`` in-process lifecycles (create session → poll → ack →
heartbeat → stop → stop, through the services) without and with the retention pass running
concurrently on the same event loop, and prints the lifecycle rate of each and their ratio
(the goal is ≥ 0.8×), the worst lifecycle latency of each, and the rows pruned. Rounds alternate
A/B so that the load of a shared machine affects both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from workyard.clock import Instant, SystemClock
from workyard.config import Settings
from workyard.domain import work as wm
from workyard.domain.models import TokenKind, WorkItem
from workyard.service.container import Services, build_services

DAY_US = 86_400 * 1_000_000


def load_stopped(path: Path, env_id: str, count: int) -> None:
    """``count`` stopped items, 60 days old, inserted in bulk (ids sort before any new id)."""
    conn = sqlite3.connect(path)
    stopped = time.time_ns() // 1000 - 60 * DAY_US
    rows = (
        (f"work_00{i:030x}", env_id, f"sess_00{i:030x}", stopped - 1000, stopped)
        for i in range(count)
    )
    with conn:
        conn.executemany(
            "INSERT INTO work_items (id, environment_id, session_id, state, created_at, "
            "stopped_at, metadata, version) VALUES (?, ?, ?, 'stopped', ?, ?, '{}', 1)",
            rows,
        )
    conn.close()


async def lifecycles(svc: Services, env_id: str, n: int) -> tuple[float, float]:
    """Run ``n`` lifecycles one after another; (seconds, worst seconds of one)."""
    principal = await svc.tokens.authenticate(f"Bearer {BENCH_TOKEN}")
    worst, start = 0.0, time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        session = await svc.sessions.create(principal, env_id, AGENT, None, {})
        item = await svc.queue.poll(principal, env_id, "w", None, wm.DEFAULT_RECLAIM_MS)
        assert item is not None and item.session_id == session.id
        ttl = svc.queue.default_ttl
        operations = [
            partial(wm.ack, worker_id="w", default_ttl=ttl),
            partial(_beat, ttl=ttl),
            partial(wm.stop, force=False),
            partial(wm.stop, force=False),
        ]
        for operation in operations:
            await asyncio.sleep(0)  # a server yields between requests: the pass may run here
            await svc.queue.mutate(principal, env_id, item.id, _op(operation))
        worst = max(worst, time.perf_counter() - t0)
    return time.perf_counter() - start, worst


BENCH_TOKEN = ""
AGENT = None


def _beat(item: WorkItem, now: Instant, ttl: int) -> WorkItem:
    return wm.heartbeat(item, "NO_HEARTBEAT", None, now, ttl).item


def _op(operation: Callable[..., WorkItem]) -> Callable[[WorkItem, Instant], WorkItem]:
    return lambda item, now: operation(item, now=now)


async def main() -> None:
    global BENCH_TOKEN
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--lifecycles", type=int, default=300)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="workyard-prune-"))
    settings = Settings(data_dir=data, retention_days=0)  # no background pass: we drive it
    svc = build_services(settings, clock=SystemClock())
    await svc.start()
    try:
        _, BENCH_TOKEN = await svc.tokens.create("bench", TokenKind.ADMIN)
        principal = await svc.tokens.authenticate(f"Bearer {BENCH_TOKEN}")
        config = {"type": "self_hosted"}
        env = await svc.environments.create(principal, "bench", "", config, {})
        t0 = time.perf_counter()
        load_stopped(data / "workyard.db", env.id, args.items)
        print(f"loaded {args.items} stopped items in {time.perf_counter() - t0:.1f} s")
        await report(svc, env.id, args)
    finally:
        await svc.stop()


async def report(svc: Services, env_id: str, args: argparse.Namespace) -> None:
    cutoff = svc.retention.cutoff(30)
    plain, loaded = [0.0, 0.0], [0.0, 0.0]
    total = await _count(svc)
    for r in range(args.rounds):
        pruning = asyncio.create_task(svc.retention.prune(cutoff)) if r % 2 else None
        seconds, worst = await lifecycles(svc, env_id, args.lifecycles)
        target = loaded if pruning else plain
        target[0] += seconds
        target[1] = max(target[1], worst)
        if pruning is not None:
            pruning.cancel()  # the next B round starts a pass over what is left
            with contextlib.suppress(asyncio.CancelledError):
                await pruning
    during = total + args.rounds * args.lifecycles - await _count(svc)  # each made one item
    svc.retention.idle = 0
    left = await svc.retention.prune(cutoff)  # finish the pass flat out
    half = args.rounds // 2 * args.lifecycles
    rate_plain, rate_loaded = half / plain[0], half / loaded[0]
    print(f"lifecycles/s without pruning: {rate_plain:.0f} (worst {plain[1] * 1000:.1f} ms)")
    print(f"lifecycles/s while pruning:   {rate_loaded:.0f} (worst {loaded[1] * 1000:.1f} ms)")
    print(f"ratio: {rate_loaded / rate_plain:.2f}x (goal >= 0.8x)")
    print(f"work items pruned during the B rounds: {during}, after them: {left['work_items']}")


async def _count(svc: Services) -> int:
    return (await svc.store.table_counts())["work_items"]


if __name__ == "__main__":
    asyncio.run(main())
