"""Abusive clients against a real server, one after another, while a prober measures ``/healthz``.

    .venv/bin/python bench/abuse.py [--seconds 8] [--only WORD ...] [--polls 1000] [--streams 500]

Starts ``workyard serve`` (SQLite, port 0, a temporary data directory). For each scenario a child
process runs the abusive client; once it is under way, this process probes ``GET /healthz`` on one
keep-alive connection every 10 ms for ``--seconds`` and samples the server's RSS and CPU time.
Prints one row per scenario, a baseline first: healthz p50 / p99 / max latency, peak RSS, server CPU
seconds used during the window, and what the abusive client saw.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

Target = tuple[str, int, str]  # host, port, admin token
COUNTS = {"polls": 1000, "streams": 500}  # set from the command line before the clients fork
Scenario = Callable[[Target, dict[str, Any]], Awaitable[None]]


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    data_dir.mkdir(parents=True)
    log = data_dir.parent / "serve.log"
    cmd = [sys.executable, "-c", "from workyard.cli.main import main; main()", "serve"]
    cmd += ["--port", "0", "--data-dir", str(data_dir)]
    env = {**os.environ, "WORKYARD_ACCESS_LOG": "false"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    for _ in range(1200):
        match = re.search(r"listening on (http://\S+)", log.read_text())
        if match:
            return proc, match.group(1)
        time.sleep(0.05)  # waiting for the child to bind its port
    raise RuntimeError(log.read_text())


# --- the abusive clients (each runs in its own process, on its own event loop) ------------------


async def _open(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(target[0], target[1])


async def baseline(target: Target, seen: dict[str, Any]) -> None:
    await asyncio.Event().wait()


async def huge_headers(target: Target, seen: dict[str, Any]) -> None:
    """Two clients in a loop, each trying to send one 64 MiB header."""
    piece = b"a" * (256 * 1024)
    seen.update(attempts=0, sent_mib=0.0)

    async def one() -> None:
        while True:
            _, writer = await _open(target)
            sent = 0
            try:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ")
                while sent < 64 * 1024 * 1024:
                    writer.write(piece)
                    await writer.drain()
                    sent += len(piece)
            except (ConnectionError, OSError):
                pass
            writer.close()
            seen["attempts"] += 1
            seen["sent_mib"] += sent / 2**20

    await asyncio.gather(one(), one())


async def slowloris(target: Target, seen: dict[str, Any]) -> None:
    """300 sockets that send half a request line, then one more byte of headers every second."""
    seen.update(open=0, closed_by_server=0)
    rest = b"TP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 10_000

    async def one() -> None:
        while True:
            reader, writer = await _open(target)
            seen["open"] += 1
            writer.write(b"GET /healthz HT")
            try:
                for byte in rest:
                    await asyncio.sleep(1)
                    writer.write(bytes([byte]))
                    await writer.drain()
                    if await _closed(reader):
                        break
            except (ConnectionError, OSError) as exc:
                seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1
            seen["open"] -= 1
            seen["closed_by_server"] += 1
            writer.close()

    await asyncio.gather(*(one() for _ in range(300)))


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(65536), 0.001)
    except TimeoutError:
        return False
    return not data or reader.at_eof()


async def trickled_bodies(target: Target, seen: dict[str, Any]) -> None:
    """100 authenticated chunked POSTs that send one body byte per second."""
    session = _setup_session(target)
    seen.update(open=0, closed_by_server=0)
    head = (
        f"POST /api/v1/cloud/sessions/{session}/events HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {target[2]}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()

    async def one() -> None:
        while True:
            reader, writer = await _open(target)
            seen["open"] += 1
            writer.write(head)
            try:
                while True:
                    writer.write(b"1\r\n \r\n")
                    await writer.drain()
                    await asyncio.sleep(1)
                    if await _closed(reader):
                        break
            except (ConnectionError, OSError) as exc:
                seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1
            seen["open"] -= 1
            seen["closed_by_server"] += 1
            writer.close()

    await asyncio.gather(*(one() for _ in range(100)))


async def oversized_fields(target: Target, seen: dict[str, Any]) -> None:
    """``POST /sessions`` with a 30 MiB ``agent``, one at a time, at most four."""
    env = _setup_env(target)
    body = b'{"environment_id":"' + env.encode() + b'","agent":"' + b"a" * (30 * 2**20) + b'"}'
    headers = {"authorization": f"Bearer {target[2]}", "content-type": "application/json"}
    statuses: list[int] = []
    seen["statuses"] = statuses
    async with httpx.AsyncClient(base_url=_base(target), headers=headers, timeout=120) as http:
        for _ in range(4):
            response = await http.post("/api/v1/cloud/sessions", content=body)
            statuses.append(response.status_code)
    await asyncio.Event().wait()


async def polls_and_streams(target: Target, seen: dict[str, Any]) -> None:
    """1,000 long polls (``block_ms=999``, re-polling at once) and 500 open event streams."""
    env = _setup_env(target)
    sessions = [_setup_session(target, env) for _ in range(10)]
    seen.update(polls=0, streams=0)
    auth = f"Authorization: Bearer {target[2]}\r\nHost: x\r\n"

    async def poller(n: int) -> None:
        await asyncio.sleep(n / 1000)  # workers poll out of step, as they do after a while
        reader, writer = await _open(target)
        request = (
            f"GET /api/v1/cloud/environments/{env}/work/poll?block_ms=999 HTTP/1.1\r\n"
            f"{auth}Worker-ID: bench-{n}\r\n\r\n"
        ).encode()
        while True:
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")
            await reader.readuntil(b"null")
            seen["polls"] += 1

    async def stream(n: int) -> None:
        reader, writer = await _open(target)
        path = f"/api/v1/cloud/sessions/{sessions[n % len(sessions)]}/events/stream"
        writer.write(f"GET {path} HTTP/1.1\r\n{auth}\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        seen["streams"] += 1
        while await reader.read(65536):
            pass

    streams = (stream(n) for n in range(COUNTS["streams"]))
    await asyncio.gather(*streams, *(poller(n) for n in range(COUNTS["polls"])))


def _base(target: Target) -> str:
    return f"http://{target[0]}:{target[1]}"


def _setup_env(target: Target) -> str:
    headers = {"authorization": f"Bearer {target[2]}"}
    body = {"name": "abuse", "config": {"type": "self_hosted"}}
    response = httpx.post(f"{_base(target)}/api/v1/cloud/environments", json=body, headers=headers)
    env: str = response.json()["id"]
    return env


def _setup_session(target: Target, env: str | None = None) -> str:
    headers = {"authorization": f"Bearer {target[2]}"}
    body = {"environment_id": env or _setup_env(target)}
    response = httpx.post(f"{_base(target)}/api/v1/cloud/sessions", json=body, headers=headers)
    session: str = response.json()["id"]
    return session


SCENARIOS: dict[str, Scenario] = {
    "baseline": baseline,
    "huge headers (64 MiB)": huge_headers,
    "slowloris (300 sockets)": slowloris,
    "trickled chunked bodies (100)": trickled_bodies,
    "30 MiB agent on POST /sessions": oversized_fields,
    "long polls + streams": polls_and_streams,
}


def _abuser(name: str, target: Target, warmup: float, report: Any, stop: Event) -> None:
    seen: dict[str, Any] = {}

    async def main() -> None:
        task = asyncio.ensure_future(SCENARIOS[name](target, seen))
        await asyncio.sleep(warmup)
        report.send("ready")
        stopped = asyncio.ensure_future(asyncio.to_thread(stop.wait))
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
        if task.done() and task.exception():
            report.send(f"failed: {task.exception()!r}")
        report.send(dict(seen))
        task.cancel()

    asyncio.run(main())


# --- the prober ---------------------------------------------------------------------------------


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def probe(host: str, port: int, pid: int, seconds: float) -> tuple[list[float], float, float]:
    """Latencies (ms) of /healthz every 10 ms, peak RSS (MiB), server CPU seconds used."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    peak = 0.0
    cpu0 = _cpu_seconds(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        try:
            conn.request("GET", "/healthz")
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            continue
        latencies.append((time.perf_counter() - start) * 1000)
        peak = max(peak, _rss_mib(pid))
        time.sleep(0.01)  # a benchmark may pace itself; tests may not
    conn.close()
    return latencies, peak, _cpu_seconds(pid) - cpu0


def run(name: str, target: Target, pid: int, seconds: float) -> str:
    warmup = 0.5 if name == "baseline" else 3.0
    parent, child = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    proc = multiprocessing.Process(target=_abuser, args=(name, target, warmup, child, stop))
    proc.start()
    note = parent.recv()
    latencies, peak, cpu = probe(target[0], target[1], pid, seconds)
    stop.set()
    seen = parent.recv() if parent.poll(30) else {}
    if isinstance(seen, str):
        note, seen = seen, parent.recv() if parent.poll(5) else {}
    proc.join(10)
    if proc.is_alive():
        proc.kill()
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    client = ", ".join(f"{k}={_short(v)}" for k, v in seen.items()) if note == "ready" else note
    if name == "long polls + streams":
        name = f"{COUNTS['polls']:,} long polls + {COUNTS['streams']:,} streams"
    return (
        f"| {name} | {statistics.median(ordered):.1f} | {p99:.1f} | {ordered[-1]:.1f} "
        f"| {len(latencies)} | {peak:.0f} | {cpu:.2f} | {client} |"
    )


def _short(value: Any) -> str:
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="probe window per scenario")
    parser.add_argument("--only", nargs="*", help="scenario names containing these words")
    parser.add_argument("--polls", type=int, default=1000, help="long polls in the last scenario")
    parser.add_argument("--streams", type=int, default=500, help="event streams in the last one")
    args = parser.parse_args()
    COUNTS.update(polls=args.polls, streams=args.streams)
    names = [n for n in SCENARIOS if not args.only or any(w in n for w in args.only)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        proc, url = start_server(data)
        try:
            host, port = url.split("//", 1)[1].rsplit(":", 1)
            httpx.get(f"{url}/healthz", timeout=30).raise_for_status()
            target = (host, int(port), (data / "admin.token").read_text().strip())
            print("| client | healthz p50 ms | p99 ms | max ms | probes | peak RSS MiB |", end="")
            print(" server CPU s | the abusive client saw |")
            print("|---|---|---|---|---|---|---|---|")
            for name in ["baseline", *(n for n in names if n != "baseline")]:
                print(run(name, target, proc.pid, args.seconds), flush=True)
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
