"""Start real ``workyard serve`` processes on loopback for end-to-end tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.pg import fresh_schema_sync, require_postgres, schema_url

_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class ServerProcess:
    url: str
    token: str
    data_dir: Path
    process: subprocess.Popen[str]
    schema: str = ""  # the PostgreSQL schema (and application_name) when on PostgreSQL

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1/cloud"

    def advance(self, seconds: float) -> str:
        """Move the server's manual clock."""
        response = httpx.post(
            f"{self.url}/_emulator/clock",
            json={"advance_seconds": seconds},
            headers={"authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()
        now: str = response.json()["now"]
        return now

    def log(self) -> str:
        return (self.data_dir.parent / f"serve-{self.data_dir.name}.log").read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def workyard_command() -> list[str]:
    return [sys.executable, "-c", "from workyard.cli.main import main; main()"]


def start_server(
    data_dir: Path, *extra: str, port: int = 0, environ: Mapping[str, str] | None = None
) -> ServerProcess:
    """``workyard serve`` with ``extra`` options and ``environ`` added to this environment."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(environ or {})}
    env.pop("WORKYARD_URL", None)
    env.pop("WORKYARD_TOKEN", None)
    cmd = [*workyard_command(), "serve", "--port", str(port), "--data-dir", str(data_dir), *extra]
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"serve-{data_dir.name}.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("a") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        match = _LISTENING.search(log_path.read_text()[offset:])
        if match:
            token_file = data_dir / "admin.token"
            token = token_file.read_text().strip() if token_file.exists() else ""
            _wait_ready(match.group(1))
            return ServerProcess(match.group(1), token, data_dir, process)
        time.sleep(0.05)  # waiting for a child process to bind a port, not for a timeout
    process.kill()
    raise RuntimeError("workyard serve did not start:\n" + log_path.read_text())


@contextmanager
def serving(backend: str, data_dir: Path, *extra: str) -> Iterator[ServerProcess]:
    """A server on ``backend`` (``sqlite``, or ``postgres`` in a fresh schema), stopped after."""
    if backend == "sqlite":
        server = start_server(data_dir, *extra)
        try:
            yield server
        finally:
            server.stop()
        return
    require_postgres()
    with fresh_schema_sync() as schema:
        server = start_server(data_dir, *extra, "--database-url", schema_url(schema))
        server.schema = schema
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def replicas_on_postgres(
    data_dirs: Sequence[Path], *extra: str, environ: Mapping[str, str] | None = None
) -> Iterator[list[ServerProcess]]:
    """A server per data dir, all on one fresh PostgreSQL schema, stopped after.

    The first one creates the admin token; every server carries it (and the schema).
    """
    require_postgres()
    with fresh_schema_sync() as schema:
        url = schema_url(schema)
        servers: list[ServerProcess] = []
        try:
            for data_dir in data_dirs:
                server = start_server(data_dir, *extra, "--database-url", url, environ=environ)
                server.schema = schema
                servers.append(server)
                server.token = servers[0].token
            yield servers
        finally:
            for server in reversed(servers):
                server.stop()


def _wait_ready(url: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # waiting for a process to bind, not for a timeout under test
    raise RuntimeError("server never became healthy")
