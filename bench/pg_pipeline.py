"""Does pipelining help asyncpg? The ways to send a work write plus its NOTIFY, side by side.

    .venv/bin/python bench/pg_pipeline.py [--writes 2000] [--rounds 3]

On a scratch table, each variant performs ``--writes`` compare-and-set updates, each published
with ``pg_notify``, one at a time on one connection (a request's view), and prints wall time and
client CPU per write (medians over ``--rounds`` alternated rounds):

* ``transaction``: BEGIN; UPDATE; SELECT pg_notify; COMMIT — four round trips (the old store);
* ``cte``: one ``WITH w AS (UPDATE … RETURNING) SELECT pg_notify(…) FROM w`` — one round trip;
* ``simple multi``: the same four statements as one simple-protocol query (one round trip, but
  no parameters: values would have to be spliced into SQL text, which we never do);
* ``executemany ×10`` / ``execute ×10``: ten updates (no NOTIFY) pipelined by ``executemany`` vs
  ten ``execute`` calls — the only pipelining asyncpg offers, for one statement with many argument
  sets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg

PG_URL = os.environ.get("WORKYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
UPDATE = "UPDATE bench_pipeline SET v = v + 1 WHERE id = $1 AND v >= 0"
CTE = (
    "WITH w AS (UPDATE bench_pipeline SET v = v + 1 WHERE id = $1 AND v >= 0 RETURNING v) "
    "SELECT pg_notify('bench_pipeline', w.v::text) FROM w"
)
MULTI = (
    "BEGIN; UPDATE bench_pipeline SET v = v + 1 WHERE id = 1 AND v >= 0; "
    "SELECT pg_notify('bench_pipeline', 'x'); COMMIT"
)


def variants(conn: asyncpg.Connection) -> dict[str, Callable[[], Awaitable[object]]]:
    async def transaction() -> None:
        async with conn.transaction():
            await conn.execute(UPDATE, 1)
            await conn.execute("SELECT pg_notify('bench_pipeline', 'x')")

    async def cte() -> None:
        await conn.fetch(CTE, 1)

    async def multi() -> None:
        await conn.execute(MULTI)

    async def many() -> None:
        await conn.executemany(UPDATE, [(n,) for n in range(1, 11)])

    async def singles() -> None:
        for n in range(1, 11):
            await conn.execute(UPDATE, n)

    return {
        "transaction": transaction,
        "cte": cte,
        "simple multi": multi,
        "executemany ×10": many,
        "execute ×10": singles,
    }


async def measure(op: Callable[[], Awaitable[object]], writes: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(writes):
        await op()
    return (time.perf_counter() - wall) / writes * 1e6, (time.process_time() - cpu) / writes * 1e6


async def main(writes: int, rounds: int) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute("CREATE TEMP TABLE bench_pipeline (id int PRIMARY KEY, v int)")
        await conn.execute("INSERT INTO bench_pipeline SELECT n, 0 FROM generate_series(1, 10) n")
        ops = variants(conn)
        for op in ops.values():  # warm the statement cache
            await measure(op, 20)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in ops}
        for _ in range(rounds):
            for name, op in ops.items():
                results[name].append(await measure(op, writes))
    finally:
        await conn.close()
    print(f"{'variant':18} {'wall µs/call':>13} {'client CPU µs/call':>19}")
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{name:18} {wall:13.0f} {cpu:19.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.writes, args.rounds))
