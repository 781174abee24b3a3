"""The request path at the stack's floor: one command, every variant started in the same run.

    .venv/bin/python bench/hotpath.py [--baseline-src DIR] [--rounds 3] [--sections floor,lifecycle]

Starts, with the same uvicorn settings (httptools, uvloop, a TCP_NODELAY listening socket), a bare
Starlette no-op app and ``workyard serve`` on SQLite (fresh data directory, port 0) from this
checkout — and, with ``--baseline-src``, ``workyard serve`` from another source tree (for example
``git archive <commit> | tar -x -C DIR``) — then measures the variants alternately, round by round:

- floor: empty-poll requests/s ÷ bare-Starlette no-op requests/s, and server CPU per request;
- lifecycle: items/s through poll → ack → heartbeat → stop → stop with a few concurrent workers,
  and server CPU per lifecycle (from ``/proc/<pid>/stat``).

Sections are functions in ``SECTIONS``; other benchmarks add theirs there. The load is generated
in a separate process by a raw HTTP/1.1 keep-alive client (never httpx).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _floor import Server, measure, run_bare_server, start_server
from _http import connect, request_bytes

_SRC = Path(__file__).resolve().parents[1] / "src"
_API = "/api/v1/cloud"
_SERVE = "from workyard.cli.main import main; main()"


@dataclass
class Bench:
    args: argparse.Namespace
    bare: Server
    servers: list[Server]  # workyard: this checkout first, then the baseline if any
    envs: dict[str, str] = field(default_factory=dict)

    def rounds(self, variants: list[Server]) -> list[list[Server]]:
        """The variants in alternating order, one list per round."""
        return [variants if r % 2 == 0 else variants[::-1] for r in range(self.args.rounds)]


def _call(server: Server, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        f"http://{server.host}:{server.port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"authorization": f"Bearer {server.token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _environment(server: Server, name: str) -> str:
    body = {"name": name, "config": {"type": "self_hosted"}}
    env: str = _call(server, "POST", f"{_API}/environments", body)["id"]
    return env


def _rate_load(host: str, port: int, data: bytes, conns: int, seconds: float) -> Any:
    async def load(go: Callable[[], None]) -> int:
        clients = [await connect(host, port) for _ in range(conns)]
        stop = False

        async def loop(client: Any) -> None:
            while not stop:
                status, _ = await client.request(data)
                assert status == 200, status

        tasks = [asyncio.ensure_future(loop(c)) for c in clients]
        await asyncio.sleep(0.5)  # warm-up, not measured
        before = sum(c.requests for c in clients)
        go()
        await asyncio.sleep(seconds)
        stop = True
        count = sum(c.requests for c in clients) - before
        await asyncio.gather(*tasks)
        return count

    return load


def section_floor(bench: Bench) -> list[str]:
    """Empty-poll (and /healthz) rps ÷ bare no-op rps, and server CPU per request, alternated."""
    args = bench.args
    rps: dict[str, list[float]] = {}
    cpu_us: dict[str, list[float]] = {}
    for order in bench.rounds([bench.bare, *bench.servers]):
        for server in order:
            for what, data in _floor_requests(bench, server):
                load = _rate_load(server.host, server.port, data, args.connections, args.seconds)
                seconds, cpu, count = measure(server, load)
                rps.setdefault(f"{server.name} {what}", []).append(count / seconds)
                cpu_us.setdefault(f"{server.name} {what}", []).append(cpu / count * 1e6)
    floor_rps = statistics.median(rps["bare no-op"])
    floor_cpu = statistics.median(cpu_us["bare no-op"])
    lines = []
    for name in rps:
        rate, per = statistics.median(rps[name]), statistics.median(cpu_us[name])
        line = f"{name:>20} {rate:8,.0f} rps  {per:6.1f} µs CPU/request"
        if name != "bare no-op":
            line += f"   rps ÷ bare {rate / floor_rps:4.2f}   CPU × bare {per / floor_cpu:4.1f}"
        lines.append(line)
    return lines


def _floor_requests(bench: Bench, server: Server) -> list[tuple[str, bytes]]:
    if server is bench.bare:
        return [("no-op", request_bytes("GET", "/noop"))]
    path = f"{_API}/environments/{bench.envs[server.name]}/work/poll"
    return [
        ("empty poll", request_bytes("GET", path, server.token, headers="Worker-ID: w1\r\n")),
        ("/healthz", request_bytes("GET", "/healthz")),
    ]


def _lifecycle_load(server: Server, env: str, sessions: int, workers: int) -> Any:
    base = f"{_API}/environments/{env}/work"
    token = server.token

    async def load(go: Callable[[], None]) -> int:
        clients = [await connect(server.host, server.port) for _ in range(workers)]
        create = request_bytes(
            "POST", f"{_API}/sessions", token, json.dumps({"environment_id": env}).encode()
        )
        for n in range(sessions):
            status, _ = await clients[n % workers].request(create)
            assert status == 201, status

        async def work(client: Any, name: str) -> int:
            done = 0
            worker = f"Worker-ID: {name}\r\n"
            poll = request_bytes("GET", f"{base}/poll", token, headers=worker)
            while True:
                status, body = await client.request(poll)
                item = json.loads(body)
                if item is None:
                    return done
                item_path = f"{base}/{item['id']}"
                for data in (
                    request_bytes("POST", f"{item_path}/ack", token, headers=worker),
                    request_bytes(
                        "POST", f"{item_path}/heartbeat?expected_last_heartbeat=NO_HEARTBEAT", token
                    ),
                    request_bytes("POST", f"{item_path}/stop", token, b"{}"),
                    request_bytes("POST", f"{item_path}/stop", token, b"{}"),
                ):
                    status, body = await client.request(data)
                    assert status == 200, (status, body[:200])
                done += 1

        go()
        counts = await asyncio.gather(*(work(c, f"w{i}") for i, c in enumerate(clients)))
        return sum(counts)

    return load


def section_lifecycle(bench: Bench) -> list[str]:
    """Lifecycles per second and server CPU per lifecycle, variants alternated per round."""
    args = bench.args
    rate: dict[str, list[float]] = {}
    cpu_ms: dict[str, list[float]] = {}
    for order in bench.rounds(bench.servers):
        for server in order:
            env = _environment(server, "lifecycle")
            load = _lifecycle_load(server, env, args.sessions, args.workers)
            seconds, cpu, items = measure(server, load)
            assert items == args.sessions, (items, args.sessions)
            rate.setdefault(server.name, []).append(items / seconds)
            cpu_ms.setdefault(server.name, []).append(cpu / items * 1e3)
    lines = []
    for name in rate:
        items_s, per = statistics.median(rate[name]), statistics.median(cpu_ms[name])
        line = f"{name:>9} lifecycle {items_s:8,.0f} items/s  {per:5.2f} ms CPU/lifecycle"
        if name != bench.servers[0].name:
            first = bench.servers[0].name
            line += f"   {first} is {statistics.median(rate[first]) / items_s:4.2f}× the items/s"
            line += f", {statistics.median(cpu_ms[first]) / per:4.2f}× the CPU"
        lines.append(line)
    return lines


SECTIONS: dict[str, Callable[[Bench], list[str]]] = {
    "floor": section_floor,
    "lifecycle": section_lifecycle,
}


def _workyard(name: str, src: Path, workdir: Path) -> Server:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"}
    for var in ("WORKYARD_URL", "WORKYARD_TOKEN", "WORKYARD_DATABASE_URL"):
        env.pop(var, None)
    cmd = [sys.executable, "-c", _SERVE, "serve", "--port", "0"]
    return start_server(name, [*cmd, "--data-dir", str(workdir / name)], env, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, help="another source tree's src/ parent")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per floor measurement")
    parser.add_argument("--connections", type=int, default=8, help="floor: concurrent clients")
    parser.add_argument("--sessions", type=int, default=1000, help="lifecycle: items per round")
    parser.add_argument("--workers", type=int, default=4, help="lifecycle: concurrent workers")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        run_bare_server()
        return
    with tempfile.TemporaryDirectory(prefix="hotpath-") as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        servers: list[Server] = []
        try:
            bare = start_server("bare", [sys.executable, __file__, "--bare-server"], env, workdir)
            servers.append(bare)
            servers.append(_workyard("this", _SRC, workdir))
            if args.baseline_src:
                servers.append(_workyard("baseline", args.baseline_src / "src", workdir))
            bench = Bench(args, bare, servers[1:])
            for server in bench.servers:
                bench.envs[server.name] = _environment(server, "floor")
                print(f"{server.name}: " + _loop_line(server))
            for name in args.sections.split(","):
                print(f"== {name}")
                for line in SECTIONS[name](bench):
                    print(line, flush=True)
        finally:
            for server in servers:
                server.stop()


def _loop_line(server: Server) -> str:
    for line in server.log.read_text().splitlines():
        if line.startswith("event loop:"):
            return line
    return "event loop: asyncio (not reported)"


if __name__ == "__main__":
    main()
