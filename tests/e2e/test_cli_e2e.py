"""The real ``workyard serve`` process driven by the real CLI, as the README's quickstart does."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import ServerProcess, start_server, workyard_command


def cli(server: ServerProcess, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKYARD_URL": server.url, "WORKYARD_DATA_DIR": str(server.data_dir)}
    env.pop("WORKYARD_TOKEN", None)
    result = subprocess.run(
        [*workyard_command(), *args], capture_output=True, text=True, env=env, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def cli_json(server: ServerProcess, *args: str) -> Any:
    return json.loads(cli(server, *args, "--json").stdout)


def test_first_start_writes_admin_token_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    try:
        token_file = data / "admin.token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert first.token.startswith("pt-")
        assert first.token in first.log()
    finally:
        first.stop()
    second = start_server(data)
    try:
        assert second.token == first.token
        assert second.log().count("Created the first admin token") == 1
    finally:
        second.stop()


def test_quickstart_flow_with_cli_and_http(server: ServerProcess) -> None:
    env = cli_json(server, "env", "create", "laptop", "--type", "self_hosted")
    assert env["config"] == {"type": "self_hosted"}
    session = cli_json(
        server, "session", "create", "--environment", env["id"], "--title", "hello",
        "--metadata", "job=demo",
    )  # fmt: skip
    assert session["status"] == "rescheduling"
    work_id = session["work_id"]

    headers = {"authorization": f"Bearer {server.token}", "worker-id": "w1"}
    base = f"{server.api}/environments/{env['id']}/work"
    with httpx.Client(headers=headers, timeout=10) as http:
        item = http.get(f"{base}/poll", params={"block_ms": 500}).json()
        assert item["id"] == work_id and item["metadata"] == {"job": "demo"}
        assert http.post(f"{base}/{work_id}/ack").json()["state"] == "starting"
        beat = http.post(
            f"{base}/{work_id}/heartbeat", params={"expected_last_heartbeat": "NO_HEARTBEAT"}
        ).json()
        assert beat["state"] == "active"
    assert cli_json(server, "session", "get", session["id"])["status"] == "running"

    stats = cli_json(server, "work", "stats", env["id"])
    assert stats["workers_polling"] == 1 and stats["depth"] == 0

    assert cli_json(server, "work", "stop", env["id"], work_id)["state"] == "stopping"
    assert cli_json(server, "work", "stop", env["id"], work_id)["state"] == "stopped"
    assert cli_json(server, "session", "get", session["id"])["status"] == "idle"
    listed = cli_json(server, "work", "list", env["id"], "--state", "stopped")
    rows = listed["data"] if isinstance(listed, dict) else listed
    assert [row["id"] for row in rows] == [work_id]


def test_lease_expiry_through_the_emulator_clock(server: ServerProcess) -> None:
    env = cli_json(server, "env", "create", "e", "--type", "self_hosted")
    session = cli_json(server, "session", "create", "--environment", env["id"])
    base = f"{server.api}/environments/{env['id']}/work"
    with httpx.Client(headers={"authorization": f"Bearer {server.token}"}, timeout=10) as http:
        http.get(f"{base}/poll").raise_for_status()
        assert http.post(f"{base}/{session['work_id']}/ack").json()["state"] == "starting"
        server.advance(59.999999)
        assert http.get(f"{base}/{session['work_id']}").json()["state"] == "starting"
        server.advance(0.000001)
        assert http.get(f"{base}/{session['work_id']}").json()["state"] == "queued"


def test_token_cli_create_list_revoke(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--manual-clock")
    try:
        created = cli_json(server, "token", "create", "--name", "ci", "--kind", "member")
        assert created["token"].startswith("pt-") and created["kind"] == "member"
        listed = cli(server, "token", "list").stdout
        assert created["id"] in listed and created["token"] not in listed
        with httpx.Client(headers={"authorization": f"Bearer {created['token']}"}) as http:
            assert http.get(f"{server.api}/environments").status_code == 200
            cli(server, "token", "revoke", created["id"])
            server.advance(0)
            revoked = [t for t in cli_json(server, "token", "list") if t["id"] == created["id"]]
            assert revoked[0]["revoked_at"] is not None
        bad = cli(server, "token", "create", "--name", "x", "--environment", "nope", check=False)
        assert bad.returncode != 0
    finally:
        server.stop()


def test_manual_clock_refused_off_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [*workyard_command(), "serve", "--host", "0.0.0.0", "--manual-clock",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--allow-manual-clock-anywhere" in result.stderr
