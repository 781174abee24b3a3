"""Shared pieces of the hot-path benchmarks: servers as child processes, their CPU, a raw client.

A server's CPU is read from ``/proc/<pid>/stat`` (user + system time of all its threads). The load
runs in a forked child process on uvloop with the minimal HTTP/1.1 keep-alive client of
``_http.py`` (an ``asyncio.Protocol``), so the client costs little and does not share the server's
interpreter.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = [
    "Server",
    "measure",
    "run_bare_server",
    "start_server",
]

_LISTENING = re.compile(rb"listening on http://([\d.]+):(\d+)")
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server child process: where it listens, its admin token, its CPU seconds so far."""

    name: str
    process: subprocess.Popen[bytes]
    host: str
    port: int
    token: str
    log: Path

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> Server:
    """Start ``cmd`` (it prints ``listening on http://host:port``) and wait until it listens."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        match = _LISTENING.search(log.read_bytes())
        if match:
            token_file = workdir / name / "admin.token"
            token = token_file.read_text().strip() if token_file.exists() else ""
            return Server(name, process, match[1].decode(), int(match[2]), token, log)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start:\n{log.read_text()}")


def run_bare_server() -> None:
    """A bare Starlette app (``GET /noop``) with the uvicorn settings ``workyard serve`` uses."""
    import uvicorn
    import uvloop
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def noop(_: Request) -> Response:
        return Response(b"null", media_type="application/json")

    app = Starlette(routes=[Route("/noop", noop, methods=["GET"])])
    sock = socket.socket(socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    config = uvicorn.Config(app, http="httptools", log_level="warning", access_log=False)
    print(f"bare listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(uvicorn.Server(config).serve(sockets=[sock]))


Load = Callable[[Callable[[], None]], Coroutine[Any, Any, Any]]


def _child(load: Load, pipe: Connection) -> None:
    import uvloop

    def go() -> None:
        pipe.send(("go", time.perf_counter()))

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result: Any = runner.run(load(go))
    except BaseException:
        pipe.send(("failed", time.perf_counter(), traceback.format_exc()))
        raise
    pipe.send(("done", time.perf_counter(), result))


def measure(server: Server, load: Load) -> tuple[float, float, Any]:
    """Run ``load`` in a child process; (seconds, server CPU seconds, result) after it says go.

    ``load(go)`` sets up (connections, data), calls ``go()`` when measurement starts, and returns
    its result when it is done.
    """
    parent, child = get_context("fork").Pipe()
    process = get_context("fork").Process(target=_child, args=(load, child))
    process.start()
    child.close()
    kind, started, *failure = parent.recv()
    if kind == "go":
        cpu = server.cpu()
        kind, ended, result = parent.recv()
    if kind == "failed":
        sys.exit(f"the load on {server.name} failed:\n{failure[0] if failure else result}")
    cpu = server.cpu() - cpu
    process.join()
    if process.exitcode != 0:
        sys.exit(f"the load process failed ({process.exitcode})")
    return ended - started, cpu, result
