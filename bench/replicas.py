"""Cross-replica latency on PostgreSQL: a long poll on replica A woken by a session created on B,
and an event appended on B reaching an SSE stream on A.

    .venv/bin/python bench/replicas.py [--rounds 100]

Starts two ``workyard serve`` processes on a fresh schema of WORKYARD_BENCH_POSTGRES_URL and prints
median / p99 latencies in milliseconds, measured from the moment B acknowledged the write.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import httpx

PG_URL = os.environ.get("WORKYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def start(data_dir: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    data_dir.mkdir(parents=True)
    log = data_dir / "serve.log"
    cmd = [sys.executable, "-c", "from workyard.cli.main import main; main()", "serve"]
    cmd += ["--port", "0", "--data-dir", str(data_dir), "--database-url", url]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(600):
        match = re.search(r"listening on (http://\S+)", log.read_text())
        if match:
            return proc, match.group(1)
        time.sleep(0.05)  # waiting for the child to bind its port
    raise RuntimeError(log.read_text())


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"median {statistics.median(ordered):6.1f} ms   p99 {p99:6.1f} ms   (n={len(ordered)})"


def poll_wake(a: httpx.Client, b: httpx.Client, env: str, rounds: int) -> list[float]:
    out: list[float] = []
    for n in range(rounds):
        result: dict[str, float] = {}

        def poll(result: dict[str, float] = result) -> None:
            a.get(f"/environments/{env}/work/poll", params={"block_ms": 999}).raise_for_status()
            result["returned"] = time.perf_counter()

        thread = threading.Thread(target=poll)
        thread.start()
        time.sleep(0.05)  # let the poll block on A (a benchmark may wait; tests may not)
        b.post("/sessions", json={"environment_id": env}).raise_for_status()
        acked = time.perf_counter()
        thread.join()
        if n:  # the first round warms connections
            out.append(max(0.0, result["returned"] - acked) * 1000)
    return out


def event_latency(a: httpx.Client, b: httpx.Client, env: str, rounds: int) -> list[float]:
    sid = b.post("/sessions", json={"environment_id": env}).json()["id"]
    arrivals: dict[str, float] = {}
    with a.stream("GET", f"/sessions/{sid}/events/stream") as stream:
        lines = stream.iter_lines()
        out: list[float] = []
        for _ in range(rounds):
            body = {"events": [{"type": "system.message", "content": "ping"}]}
            sent = b.post(f"/sessions/{sid}/events", json=body).json()["data"][0]["id"]
            acked = time.perf_counter()
            while sent not in arrivals:
                line = next(lines)
                if line.startswith("id: "):
                    arrivals[line[4:]] = time.perf_counter()
            out.append(max(0.0, arrivals[sent] - acked) * 1000)
    return out


async def _sql(statement: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    schema = f"bench_{secrets.token_hex(4)}"
    asyncio.run(_sql(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            proc_a, url_a = start(Path(tmp) / "a", url)
            procs.append(proc_a)
            proc_b, url_b = start(Path(tmp) / "b", url)
            procs.append(proc_b)
            token = (Path(tmp) / "a" / "admin.token").read_text().strip()
            headers = {"authorization": f"Bearer {token}"}
            with (
                httpx.Client(base_url=f"{url_a}/api/v1/cloud", headers=headers, timeout=10) as a,
                httpx.Client(base_url=f"{url_b}/api/v1/cloud", headers=headers, timeout=10) as b,
            ):
                env = b.post(
                    "/environments", json={"name": "bench", "config": {"type": "self_hosted"}}
                ).json()["id"]
                print("long poll on A woken by a session created on B:")
                print("  " + percentiles(poll_wake(a, b, env, args.rounds)))
                print("event appended on B reaching an SSE stream on A:")
                print("  " + percentiles(event_latency(a, b, env, args.rounds)))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        asyncio.run(_sql(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
