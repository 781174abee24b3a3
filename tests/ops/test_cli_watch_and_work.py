"""Ctrl-C while following a session, and the work list's metadata column (real server, real CLI)."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx

from tests.e2e.conftest import ServerProcess, workyard_command
from tests.e2e.test_cli_e2e import cli, cli_json


def test_ctrl_c_in_session_watch_exits_130_quietly(server: ServerProcess) -> None:
    env_id = cli_json(server, "env", "create", "e", "--type", "self_hosted")["id"]
    session = cli_json(server, "session", "create", "--environment", env_id, "--message", "hi")
    env = {**os.environ, "WORKYARD_URL": server.url, "WORKYARD_DATA_DIR": str(server.data_dir)}
    create = ["session", "create", "--environment", env_id, "--message", "x", "--watch"]
    for args in (["session", "watch", session["id"]], create):
        watch = subprocess.Popen(
            [*workyard_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip
        assert watch.stdout is not None
        first = watch.stdout.readline()  # the user's message: the stream is open
        assert first.strip(), first
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=30)
        assert watch.returncode == 130, err
        assert "Traceback" not in err and "rror" not in err, err


def test_work_list_shows_metadata(server: ServerProcess) -> None:
    env_id = cli_json(server, "env", "create", "e", "--type", "self_hosted")["id"]
    session = cli_json(server, "session", "create", "--environment", env_id, "-m", "job=demo")
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(headers=headers, timeout=10) as http:
        http.get(f"{server.api}/environments/{env_id}/work/poll").raise_for_status()
    table = cli(server, "work", "list", env_id).stdout
    assert "METADATA" in table and "job=demo" in table and session["work_id"] in table
