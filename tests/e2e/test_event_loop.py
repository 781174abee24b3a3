"""``workyard serve`` runs on uvloop when it is installed, and on asyncio's loop without it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import start_server

_WITHOUT_UVLOOP = (
    "import sys; sys.modules['uvloop'] = None; from workyard.cli.main import main; main()"
)


def test_the_server_is_served_by_uvloop(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert "event loop: uvloop" in server.log()
    finally:
        server.stop()


def test_without_uvloop_the_server_falls_back_to_asyncio(tmp_path: Path) -> None:
    log_path = tmp_path / "serve.log"
    cmd = [sys.executable, "-c", _WITHOUT_UVLOOP, "serve", "--port", "0"]
    cmd += ["--data-dir", str(tmp_path / "data")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("w") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while "event loop:" not in log_path.read_text() and process.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)  # waiting for a child process to start, not for a timeout
        assert "event loop: asyncio" in log_path.read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)
