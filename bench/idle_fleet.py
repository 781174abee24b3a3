"""Idle fleets and pickup latency against real ``workyard serve`` processes (SQLite, one node).

    .venv/bin/python bench/idle_fleet.py [--polls 2000] [--seconds 10] [--rounds 2] \
        [--baseline /path/to/other/checkout/src]

For each variant (this checkout's ``src``, and ``--baseline`` when given; alternated, ``--rounds``
times) a fresh server is started and measured in three phases:

1. **idle fleet**: ``--polls`` keep-alive connections, each looping ``GET …/work/poll?block_ms=999``
   on an empty environment, for ``--seconds`` (after a warm-up). Prints the server's CPU (utime +
   stime from ``/proc/<pid>/stat``) as % of one core, the polls answered per second, server CPU per
   answered poll, and ``/healthz`` p50 / p99 measured meanwhile on a connection of its own.
2. **empty polls**: 32 connections looping non-blocking polls (``block_ms`` omitted): server CPU
   per request, the HTTP and routing cost every poll pays. CPU per idle poll minus this is what
   waiting itself costs.
3. **pickup**: one blocked poll at a time, then a session is created; the latency from sending the
   create to the poll's answer arriving (and from the create's acknowledgement), p50 / p99.

The load generator speaks HTTP/1.1 over raw asyncio streams (Python HTTP clients would be the
bottleneck). ``run(...)`` returns the figures for use from other scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Connection

SRC = Path(__file__).resolve().parent.parent / "src"
_TICKS = os.sysconf("SC_CLK_TCK")
_HUGE_RECLAIM = 3_600_000  # pickup rounds never see an older delivery come back


# the server ------------------------------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    token: str

    def cpu(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(src: Path, data_dir: Path) -> Server:
    data_dir.mkdir(parents=True)
    log = data_dir / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-c", "from workyard.cli.main import main; main()", "serve"]
    cmd += ["--port", "0", "--data-dir", str(data_dir)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    for _ in range(1200):
        match = re.search(r"listening on (http://\S+)", log.read_text())
        if match:
            token = (data_dir / "admin.token").read_text().strip()
            return Server(proc, match.group(1), token)
        time.sleep(0.05)  # waiting for the child to bind its port
    proc.kill()
    raise RuntimeError(log.read_text())


async def environment(conn: Connection) -> str:
    env = await conn.call(
        "POST", "/api/v1/cloud/environments", {"name": "bench", "config": {"type": "self_hosted"}}
    )
    if env["config"]["type"] != "self_hosted":
        raise RuntimeError("expected a self_hosted environment")
    env_id: str = env["id"]
    return env_id


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


# phases ----------------------------------------------------------------------------------------
async def idle_fleet(server: Server, polls: int, seconds: float) -> dict[str, float]:
    admin = await Connection(server.url, server.token).open()
    env_id = await environment(admin)
    path = f"/api/v1/cloud/environments/{env_id}/work/poll?block_ms=999"
    conns: list[Connection] = []
    for start in range(0, polls, 100):  # connect in batches: the listen backlog is finite
        batch = [Connection(server.url, server.token).open() for _ in range(start, start + 100)]
        conns += await asyncio.gather(*batch[: polls - start])
    answered = [0]

    async def worker(conn: Connection, name: str) -> None:
        while True:
            await conn.call("GET", path, worker=name)
            answered[0] += 1

    tasks = [asyncio.create_task(worker(c, f"w{i}")) for i, c in enumerate(conns)]
    await asyncio.sleep(3.0)  # warm-up: every connection polling, timeouts spread out
    admin.close()  # idle past the server's keep-alive timeout by now: a fresh one for /healthz
    admin = await Connection(server.url, server.token).open()
    health: list[float] = []
    cpu0, wall0, n0 = server.cpu(), time.perf_counter(), answered[0]
    while time.perf_counter() - wall0 < seconds:
        sent = time.perf_counter()
        await admin.call("GET", "/healthz")
        health.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(0.02)
    cpu, wall, n = server.cpu() - cpu0, time.perf_counter() - wall0, answered[0] - n0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for conn in [*conns, admin]:
        conn.close()
    return {
        "cpu_pct": 100 * cpu / wall,
        "polls_per_s": n / wall,
        "cpu_us_per_poll": 1e6 * cpu / max(n, 1),
        "healthz_p50_ms": pct(health, 0.5),
        "healthz_p99_ms": pct(health, 0.99),
    }


async def empty_polls(server: Server, seconds: float, connections: int = 32) -> dict[str, float]:
    conns = [await Connection(server.url, server.token).open() for _ in range(connections)]
    env_id = await environment(conns[0])
    path = f"/api/v1/cloud/environments/{env_id}/work/poll"
    answered = [0]

    async def worker(conn: Connection, name: str) -> None:
        while True:
            await conn.call("GET", path, worker=name)
            answered[0] += 1

    tasks = [asyncio.create_task(worker(c, f"e{i}")) for i, c in enumerate(conns)]
    await asyncio.sleep(1.0)
    cpu0, n0 = server.cpu(), answered[0]
    await asyncio.sleep(seconds)
    cpu, n = server.cpu() - cpu0, answered[0] - n0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for conn in conns:
        conn.close()
    return {"empty_cpu_us_per_poll": 1e6 * cpu / max(n, 1)}


async def pickup(server: Server, rounds: int) -> dict[str, float]:
    creator = await Connection(server.url, server.token).open()
    poller = await Connection(server.url, server.token).open()
    env_id = await environment(creator)
    path = f"/api/v1/cloud/environments/{env_id}/work/poll"
    path += f"?block_ms=999&reclaim_older_than_ms={_HUGE_RECLAIM}"

    async def timed_poll() -> tuple[Any, float]:
        item = await poller.call("GET", path, worker="picker")
        return item, time.perf_counter()

    from_send: list[float] = []
    from_ack: list[float] = []
    misses = 0
    for _ in range(rounds):
        task = asyncio.create_task(timed_poll())
        await asyncio.sleep(0.02)  # the poll is blocked in the server by now
        sent = time.perf_counter()
        await creator.call("POST", "/api/v1/cloud/sessions", {"environment_id": env_id})
        acked = time.perf_counter()
        item, answered = await task
        if item is None:
            misses += 1
            continue
        from_send.append((answered - sent) * 1000)
        from_ack.append((answered - acked) * 1000)
    creator.close()
    poller.close()
    return {
        "pickup_p50_ms": pct(from_send, 0.5),
        "pickup_p99_ms": pct(from_send, 0.99),
        "pickup_after_ack_p99_ms": pct(from_ack, 0.99),
        "pickup_misses": misses,
    }


_LAYER = """
import asyncio, json, sys, tempfile, time
from pathlib import Path
from workyard.config import Settings
from workyard.domain.models import TokenKind
from workyard.service.container import build_services

async def main(polls, seconds, block_ms):
    with tempfile.TemporaryDirectory() as tmp:
        svc = build_services(Settings(data_dir=Path(tmp)))
        await svc.start()
        _, clear = await svc.tokens.create("bench", TokenKind("admin"), ())
        who = await svc.tokens.authenticate("Bearer " + clear)
        env = await svc.environments.create(who, "b", "", {"type": "self_hosted"}, {})
        done = [0]
        async def loop(name):
            while True:
                await svc.queue.poll(who, env.id, name, block_ms, 5000)
                done[0] += 1
        tasks = [asyncio.create_task(loop(f"w{i}")) for i in range(polls)]
        await asyncio.sleep(1.0)
        cpu, n = time.process_time(), done[0]
        await asyncio.sleep(seconds)
        cpu, n = time.process_time() - cpu, done[0] - n
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await svc.stop()
        print(json.dumps({"layer_cpu_us_per_poll": 1e6 * cpu / max(n, 1)}))

asyncio.run(main(*map(int, sys.argv[1:3]), int(sys.argv[3])))
"""


def service_layer(src: Path, polls: int, seconds: float, block_ms: int = 50) -> dict[str, float]:
    """CPU per blocked-then-empty ``WorkQueue.poll`` below HTTP (``polls`` concurrent loops)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-c", _LAYER, str(polls), str(int(seconds)), str(block_ms)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = json.loads(out.splitlines()[-1])
    return figures


# driver ----------------------------------------------------------------------------------------
async def measure(src: Path, polls: int, seconds: float, pickups: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="workyard-idle-") as tmp:
        server = start_server(src, Path(tmp) / "data")
        try:
            figures = await idle_fleet(server, polls, seconds)
            figures |= await empty_polls(server, min(seconds, 5.0))
            figures |= await pickup(server, pickups)
        finally:
            server.stop()
    figures |= service_layer(src, polls, min(seconds, 5.0))
    figures["wait_cpu_us_per_poll"] = figures["cpu_us_per_poll"] - figures["empty_cpu_us_per_poll"]
    return figures


def run(
    variants: dict[str, Path],
    polls: int = 2000,
    seconds: float = 10.0,
    rounds: int = 2,
    pickups: int = 200,
) -> list[tuple[str, dict[str, float]]]:
    """Measure every variant ``rounds`` times, alternating; ``(name, figures)`` per run."""
    results = []
    for _ in range(rounds):
        for name, src in variants.items():
            figures = asyncio.run(measure(src, polls, seconds, pickups))
            results.append((name, figures))
            print(name, " ".join(f"{k}={v:.1f}" for k, v in figures.items()), flush=True)
    return results


def summarize(results: list[tuple[str, dict[str, float]]]) -> str:
    names = list(dict.fromkeys(name for name, _ in results))
    keys = list(results[0][1])
    lines = ["| figure (median of runs) | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---|" * len(names))
    for key in keys:
        cells = [
            f"{statistics.median(f[key] for n, f in results if n == name):.1f}" for name in names
        ]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pickups", type=int, default=200)
    parser.add_argument("--baseline", type=Path, help="another checkout's src directory")
    args = parser.parse_args()
    variants = {"current": SRC}
    if args.baseline is not None:
        variants = {"baseline": args.baseline, **variants}
    results = run(variants, args.polls, args.seconds, args.rounds, args.pickups)
    print(summarize(results))


if __name__ == "__main__":
    main()
