"""Whole work lifecycles through HTTP against a running server (the hot path, end to end).

    workyard serve &                       # any server: SQLite or PostgreSQL
    .venv/bin/python bench/http_lifecycle.py --url http://127.0.0.1:8080 --token "$TOKEN" \
        [--sessions 2000] [--workers 32] [--idempotency-keys]

Creates the sessions, then ``--workers`` concurrent keep-alive connections each loop
poll → ack → heartbeat (NO_HEARTBEAT) → stop → stop until the queue is empty, and prints sessions
created per second, lifecycles per second and requests per second. It speaks HTTP/1.1 over raw
asyncio streams (``_http.py``): Python HTTP clients would be the bottleneck, not the server.
``--idempotency-keys`` sends a fresh ``Idempotency-Key`` with every POST, as the SDK does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Connection


async def create_sessions(conns: list[Connection], env: str, count: int) -> None:
    async def create(conn: Connection, share: int) -> None:
        for _ in range(share):
            await conn.call("POST", "/api/v1/cloud/sessions", {"environment_id": env})

    share = count // len(conns)
    await asyncio.gather(*(create(c, share) for c in conns))


async def work(conn: Connection, env: str, name: str) -> int:
    base = f"/api/v1/cloud/environments/{env}/work"
    done = 0
    while True:
        item = await conn.call("GET", f"{base}/poll", worker=name)
        if item is None:
            return done
        wid = item["id"]
        await conn.call("POST", f"{base}/{wid}/ack", worker=name)
        await conn.call("POST", f"{base}/{wid}/heartbeat?expected_last_heartbeat=NO_HEARTBEAT")
        await conn.call("POST", f"{base}/{wid}/stop", {})
        await conn.call("POST", f"{base}/{wid}/stop", {})
        done += 1


async def main(url: str, token: str, sessions: int, workers: int, keyed: bool) -> None:
    conns = [Connection(url, token, keyed) for _ in range(workers)]
    await asyncio.gather(*(c.open() for c in conns))
    env = await conns[0].call(
        "POST", "/api/v1/cloud/environments", {"name": "bench", "config": {"type": "self_hosted"}}
    )
    start = time.perf_counter()
    await create_sessions(conns, env["id"], sessions)
    created = sessions // workers * workers
    create_s = time.perf_counter() - start
    before = sum(c.requests for c in conns)
    start = time.perf_counter()
    counts = await asyncio.gather(*(work(c, env["id"], f"w{n}") for n, c in enumerate(conns)))
    run_s = time.perf_counter() - start
    requests = sum(c.requests for c in conns) - before
    assert sum(counts) == created, (sum(counts), created)
    print(f"{created} sessions created in {create_s:.2f}s: {created / create_s:,.0f}/s")
    print(f"{sum(counts)} lifecycles in {run_s:.2f}s: {sum(counts) / run_s:,.0f}/s")
    print(f"{requests} lifecycle requests: {requests / run_s:,.0f} requests/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--idempotency-keys", action="store_true")
    args = parser.parse_args()
    keyed = args.idempotency_keys
    asyncio.run(main(args.url, args.token, args.sessions, args.workers, keyed))
