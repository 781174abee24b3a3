"""Real processes for the chaos run: ``workyard serve`` replicas, scripted workers, PostgreSQL.

Everything listens on loopback. Servers keep their port across a ``kill -9`` and restart, so
clients and workers find them again where they were.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

__all__ = [
    "PG_URL",
    "Server",
    "WorkerProcess",
    "create_schema",
    "drop_schema",
    "free_port",
    "schema_url",
    "terminate_backends",
]

PG_URL = os.environ.get("WORKYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_SERVE = [sys.executable, "-c", "from workyard.cli.main import main; main()", "serve"]
_WORKER = str(Path(__file__).resolve().parent / "chaos_worker.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One ``workyard serve`` process on a fixed loopback port."""

    def __init__(self, data_dir: Path, log: Path, database_url: str | None, ttl: int) -> None:
        self.data_dir, self.log_path = data_dir, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--port", str(self.port), "--data-dir", str(data_dir)]
        self.args += ["--default-ttl", str(ttl)]
        if database_url:
            self.args += ["--database-url", database_url]
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("WORKYARD_URL", "WORKYARD_TOKEN")}
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen([*_SERVE, *self.args], stdout=out, stderr=out, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("workyard serve exited:\n" + self.log_path.read_text()[-4000:])
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # waiting for a child process to bind its port
        raise RuntimeError("workyard serve never became healthy:\n" + self.log_path.read_text())

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()


class WorkerProcess:
    """A scripted worker (``chaos_worker.py``) whose every output line goes to ``sink``."""

    def __init__(
        self,
        urls: list[str],
        token: str,
        env: str,
        worker_id: str,
        sink: Callable[[dict[str, Any]], None],
        *,
        ttl: int,
        halt_at: str | None = None,
    ) -> None:
        cmd = [sys.executable, _WORKER, "--urls", ",".join(urls), "--token", token]
        cmd += ["--env", env, "--worker-id", worker_id, "--ttl", str(ttl)]
        cmd += ["--reclaim-ms", str(ttl * 1000)]
        if halt_at:
            cmd += ["--halt-at", halt_at]
        self.worker_id = worker_id
        self.halted = threading.Event()
        self.halt_line: dict[str, Any] = {}
        self._sink = sink
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line: dict[str, Any] = json.loads(raw)
            if line.get("ev") == "halt":
                self.halt_line = line
                self.halted.set()
            self._sink(line)

    def release(self) -> None:
        """Let a halted worker carry on (it wakes up as a stale lease holder)."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()

    def kill9(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._reader.join(5)

    stop = kill9  # a scripted worker holds nothing worth a graceful exit


async def _sql(statement: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(PG_URL)
    try:
        return list(await conn.fetch(statement, *args))
    finally:
        await conn.close()


def create_schema() -> str:
    schema = f"chaos_{secrets.token_hex(5)}"
    asyncio.run(_sql(f'CREATE SCHEMA "{schema}"'))
    return schema


def drop_schema(schema: str) -> None:
    asyncio.run(_sql(f'DROP SCHEMA "{schema}" CASCADE'))


def schema_url(schema: str) -> str:
    """A URL whose connections use ``schema`` and carry its name (to find and terminate them)."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={schema}"


def terminate_backends(schema: str) -> int:
    """``pg_terminate_backend`` every connection of this run's servers; how many there were."""
    rows = asyncio.run(
        _sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE $1 AND pid <> pg_backend_pid()",
            re.sub(r"([%_\\])", r"\\\1", schema) + "%",
        )
    )
    return len(rows)
