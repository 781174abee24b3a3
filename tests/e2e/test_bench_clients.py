"""The benchmarks' shared raw HTTP clients (bench/_http.py) against a real server, and no bench
script carrying a client of its own."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ServerProcess

BENCH = Path(__file__).resolve().parents[2] / "bench"
API = "/api/v1/cloud"


def _http() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("_http")
    finally:
        sys.path.remove(str(BENCH))


async def test_connection_runs_a_lifecycle(server: ServerProcess) -> None:
    conn = await _http().Connection(server.url, server.token).open()
    try:
        env = await conn.call(
            "POST", f"{API}/environments", {"name": "b", "config": {"type": "self_hosted"}}
        )
        session = await conn.call("POST", f"{API}/sessions", {"environment_id": env["id"]})
        base = f"{API}/environments/{env['id']}/work"
        item = await conn.call("GET", f"{base}/poll", worker="w 1")
        assert item["id"] == session["work_id"]
        assert (await conn.call("POST", f"{base}/{item['id']}/ack", worker="w 1"))["state"] == (
            "starting"
        )
        await conn.call("POST", f"{base}/{item['id']}/heartbeat")
        await conn.call("POST", f"{base}/{item['id']}/stop", {})
        stopped = await conn.call("POST", f"{base}/{item['id']}/stop", {})
        assert stopped["state"] == "stopped"
        assert await conn.call("GET", f"{base}/poll") is None
        assert conn.requests == 8
        with pytest.raises(RuntimeError, match="404"):
            await conn.call("GET", f"{API}/environments/env_{'0' * 32}")
    finally:
        conn.close()


async def test_client_sends_prebuilt_requests(server: ServerProcess) -> None:
    http = _http()
    parts = urlsplit(server.url)
    client = await http.connect(parts.hostname, parts.port)
    status, body = await client.request(http.request_bytes("GET", "/healthz"))
    assert status == 200 and json.loads(body)
    env_body = json.dumps({"name": "c", "config": {"type": "self_hosted"}}).encode()
    status, body = await client.request(
        http.request_bytes("POST", f"{API}/environments", server.token, env_body)
    )
    assert status == 201
    env_id = json.loads(body)["id"]
    poll = http.request_bytes(
        "GET", f"{API}/environments/{env_id}/work/poll", server.token, headers="Worker-ID: w\r\n"
    )
    for _ in range(3):  # keep-alive: one connection, request after request
        assert await client.request(poll) == (200, b"null")
    assert client.requests == 5


def test_no_bench_script_has_a_client_of_its_own() -> None:
    request_line = re.compile(r"HTTP/1\.1\\r\\n")
    writers = {p.name for p in BENCH.glob("*.py") if request_line.search(p.read_text())}
    assert writers == {"_http.py", "abuse.py"}  # abuse.py writes malformed requests on purpose
