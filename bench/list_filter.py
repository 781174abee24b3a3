"""Listing running items of an environment that holds a million finished ones (SQLite store).

    .venv/bin/python bench/list_filter.py [--items 1000000]

``GET …/work?state=starting,active,stopping`` (what ``workyard status`` and the dashboard ask) must
read only the matching rows. Prints the time of one ordered scan over the environment filtered by
state (what a single query without a state index does) and of the store's per-state index scans.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from workyard.domain.models import WorkState
from workyard.domain.pagination import PageRequest
from workyard.store.sqlite.store import SqliteStore

ENV = "env_" + "0" * 32
RUNNING = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)
UNINDEXED = (
    "SELECT * FROM work_items NOT INDEXED WHERE environment_id = ? AND state IN "
    "('starting', 'active', 'stopping') ORDER BY environment_id, id LIMIT 101"
)


def _fill(path: Path, items: int) -> None:
    db = sqlite3.connect(path)
    rows = (
        (f"work_{n:032x}", ENV, f"sess_{n:032x}", "active" if n % 100_000 == 7 else "stopped", n)
        for n in range(items)
    )
    db.executemany(
        "INSERT INTO work_items (id, environment_id, session_id, state, created_at, metadata,"
        " version) VALUES (?, ?, ?, ?, ?, '{}', 1)",
        rows,
    )
    db.commit()
    t = time.perf_counter()
    found = len(db.execute(UNINDEXED, (ENV,)).fetchall())
    print(f"one filtered scan of the environment: {found} rows in {_ms(t):.1f} ms")
    db.close()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def main(items: int) -> None:
    path = Path(tempfile.mkdtemp()) / "bench.db"
    store = SqliteStore(path)
    await store.open()  # creates the schema
    await store.close()
    _fill(path, items)
    await store.open()
    times = []
    for _ in range(20):
        t = time.perf_counter()
        found = await store.list_work(ENV, RUNNING, PageRequest(100))
        times.append(_ms(t))
    await store.close()
    print(
        f"store.list_work(running states): {len(found)} rows, median "
        f"{statistics.median(times):.2f} ms, max {max(times):.2f} ms ({items:,} items)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().items))
