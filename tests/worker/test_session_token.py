"""The command gets its item's credential (the ack's ``secret``) and never the worker's token.

These tests need a server that mints per-item credentials (the ack's ``secret``); against one that
answers ``secret: null`` they fail — the fallback is tested in test_fallback_inprocess.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.worker.harness import api, read_env, self_hosted, start_worker, workers

pytestmark = pytest.mark.e2e

# Calls the API with the item's credential: what it may do, and what it may not.
PROBE = """
import json, os, sys, urllib.request, urllib.error

api = os.environ["WORKYARD_URL"] + "/api/v1/cloud"
token = os.environ["WORKYARD_SESSION_TOKEN"]
session = os.environ["WORKYARD_SESSION_ID"]

MESSAGE = {"type": "agent.message", "content": [{"type": "text", "text": "x"}]}

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code

results = {
    "session": call("GET", f"/sessions/{session}"),
    "events": call("GET", f"/sessions/{session}/events"),
    "send": call("POST", f"/sessions/{session}/events", {"events": [MESSAGE]}),
    "environments": call("GET", "/environments"),
    "sessions": call("GET", "/sessions"),
}
with open(os.path.join(os.environ["OUT"], "results.json"), "w") as f:
    json.dump(results, f)
with open(os.path.join(os.environ["OUT"], "env"), "wb") as f:
    f.write(b"\\0".join(f"{k}={v}".encode() for k, v in os.environ.items()))
"""


def test_the_command_gets_its_item_credential_and_not_the_worker_token(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        worker = start_worker(
            server, tmp_path, "least", [sys.executable, "-c", PROBE], "--once",
            "--no-events", "--log-format", "json", environment_id=env.id,
            env={"OUT": str(out), "ALSO_TOKEN": server.token},
        )  # fmt: skip
        started.append(worker)
        assert worker.wait() == 0, worker.log()

        variables = read_env(out / "env")
        credential = variables["WORKYARD_SESSION_TOKEN"]
        assert credential and credential != server.token
        assert "WORKYARD_TOKEN" not in variables
        assert not [name for name, value in variables.items() if server.token in value]
        results = json.loads((out / "results.json").read_text())
        assert results["session"] == 200
        assert results["events"] == 200
        assert results["send"] == 200
        assert results["environments"] == 403
        assert results["sessions"] == 403
        assert not worker.events("no_item_credential")
        events = json.dumps([e.raw for e in client.sessions.events.list_all(session.id)])
        assert server.token not in events and credential not in events
        assert server.token not in worker.log() and credential not in worker.log()
        # The item is stopped: its credential is dead.
        answer = httpx.get(
            f"{server.api}/sessions/{session.id}", headers={"authorization": f"Bearer {credential}"}
        )
        assert answer.status_code == 401
