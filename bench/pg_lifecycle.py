"""Whole work lifecycles at the service layer, with database round trips (statements) counted.

    .venv/bin/python bench/pg_lifecycle.py [--backend postgres|sqlite] [--items 1000]
        [--workers 8] [--rounds 3] [--baseline OTHER_CHECKOUT/src]

A lifecycle is: create a session, then poll → ack → heartbeat → stop → stop (what a worker does
through HTTP, minus HTTP). Each variant runs in its own process (PYTHONPATH = its sources); with
``--baseline`` the two variants alternate A/B for ``--rounds`` rounds in one run. Printed per
variant: lifecycles per second (``--workers`` concurrent lifecycles), the bench process's CPU per
lifecycle (service + store + driver) and, on PostgreSQL, the CPU of this run's backend processes
(from /proc, so the database must run on this machine), and round trips per
operation counted in a sequential pass — asyncpg executions (an extended-protocol execute or a
simple query each; pool reset queries included) on PostgreSQL, statements seen by
``sqlite3.Connection.set_trace_callback`` on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("WORKYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OPS = ("create", "poll", "ack", "heartbeat", "stop", "stop again")
COUNT = [0]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _backend_pids(schema: str) -> list[int]:
    """This run's PostgreSQL backends (the store names its connections after the schema)."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1", f"workyard:{schema}%"
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


def _count_asyncpg() -> None:
    from asyncpg.connection import Connection

    do_execute, execute = Connection._do_execute, Connection.execute

    async def counted_do(self: Any, *args: Any, **kwargs: Any) -> Any:
        COUNT[0] += 1
        return await do_execute(self, *args, **kwargs)

    async def counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # the simple-query path; with args it goes through _do_execute
            COUNT[0] += 1
        return await execute(self, query, *args, **kwargs)

    Connection._do_execute = counted_do
    Connection.execute = counted_execute


async def child(backend: str, items: int, workers: int) -> dict[str, Any]:
    from workyard.clock import SystemClock
    from workyard.config import Settings
    from workyard.domain import work as wm
    from workyard.domain.models import Environment, TokenKind, WorkItem
    from workyard.ids import new_id
    from workyard.service.auth import Principal
    from workyard.service.container import build_services
    from workyard.store import Insert

    admin = Principal("tok_bench", TokenKind.ADMIN)
    tmp = tempfile.TemporaryDirectory()
    store = None
    schema = f"bench_{secrets.token_hex(4)}"
    if backend == "postgres":
        import asyncpg

        from workyard.store.postgres.store import PostgresStore

        conn = await asyncpg.connect(PG_URL)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.close()
        store = PostgresStore(PG_URL, schema=schema)
        _count_asyncpg()
    svc = build_services(Settings(data_dir=Path(tmp.name)), store=store, clock=SystemClock())
    await svc.start()
    if backend == "sqlite":
        raw = svc.store._db._conn  # type: ignore[attr-defined]
        raw.set_trace_callback(lambda _sql: COUNT.__setitem__(0, COUNT[0] + 1))
    q = svc.queue
    now = svc.clock.now()
    env = Environment(new_id("env"), "bench", "", {"type": "self_hosted"}, {}, None, now, now)
    await svc.store.commit([Insert(env)])
    ttl = q.default_ttl

    def ops(worker: str) -> list[Callable[[WorkItem, int], WorkItem]]:
        return [
            lambda w, t: wm.ack(w, worker, t, ttl),
            lambda w, t: wm.heartbeat(w, "NO_HEARTBEAT", None, t, ttl).item,
            lambda w, t: wm.stop(w, False, t),
            lambda w, t: wm.stop(w, False, t),
        ]

    async def lifecycle(worker: str, per_op: Counter[str] | None) -> bool:
        tally = Counter[str]()
        mark = COUNT[0]
        await svc.sessions.create(admin, env.id, None, None, {})
        tally["create"], mark = COUNT[0] - mark, COUNT[0]
        item = await q.poll(admin, env.id, worker, None, 10**9)
        tally["poll"], mark = COUNT[0] - mark, COUNT[0]
        if item is None:
            return False
        for name, op in zip(OPS[2:], ops(worker), strict=True):
            await q.mutate(admin, env.id, item.id, op)
            tally[name], mark = COUNT[0] - mark, COUNT[0]
        if per_op is not None:
            per_op.update(tally)
        return True

    per_op: Counter[str] = Counter()
    warm = 20
    for _ in range(warm):  # warm statement caches, then count a sequential pass
        await lifecycle("w0", None)
    counted = 100
    for _ in range(counted):
        await lifecycle("w0", per_op)
    if backend == "sqlite":
        raw.set_trace_callback(None)

    async def loop(worker: str, share: int) -> None:
        for _ in range(share):
            await lifecycle(worker, None)

    pg_before = {}
    if backend == "postgres":
        pg_before = {pid: _cpu_seconds(pid) for pid in await _backend_pids(schema)}
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(loop(f"w{i}", items // workers) for i in range(workers)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = items // workers * workers
    pg_cpu = 0.0
    if backend == "postgres":
        pids = await _backend_pids(schema)
        pg_cpu = sum(_cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in pids)
    await svc.stop()
    if backend == "postgres":
        conn = await asyncpg.connect(PG_URL)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
    tmp.cleanup()
    return {
        "per_op": {op: per_op[op] / counted for op in OPS},
        "items_per_s": done / wall,
        "cpu_ms": cpu / done * 1000,
        "pg_cpu_ms": pg_cpu / done * 1000,
    }


def run_variant(src: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, __file__, "--child", "--backend", args.backend]
    cmd += ["--items", str(args.items), "--workers", str(args.workers)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def report(name: str, runs: list[dict[str, Any]]) -> None:
    per_op = runs[0]["per_op"]
    total = sum(per_op.values())
    rate = statistics.median(r["items_per_s"] for r in runs)
    cpu = statistics.median(r["cpu_ms"] for r in runs)
    pg_cpu = statistics.median(r["pg_cpu_ms"] for r in runs)
    ops = "  ".join(f"{op} {per_op[op]:.1f}" for op in OPS)
    print(
        f"{name:9} {rate:7.0f} lifecycles/s  CPU each: {cpu:5.2f} ms here + {pg_cpu:5.2f} ms "
        f"PostgreSQL backends  {total:5.1f} trips"
    )
    print(f"{'':9} per operation: {ops}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="another checkout's src directory, run alternately")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.backend, args.items, args.workers))))
        return
    here = str(Path(__file__).resolve().parent.parent / "src")
    variants = {"this": here} | ({"baseline": args.baseline} if args.baseline else {})
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, src in variants.items():
            runs[name].append(run_variant(src, args))
    print(f"backend: {args.backend}; {args.items} lifecycles, {args.workers} concurrent")
    for name, results in runs.items():
        report(name, results)
    if args.baseline:
        ratio = statistics.median(r["items_per_s"] for r in runs["this"]) / statistics.median(
            r["items_per_s"] for r in runs["baseline"]
        )
        print(f"lifecycles/s this ÷ baseline: {ratio:.2f}")


if __name__ == "__main__":
    main()
