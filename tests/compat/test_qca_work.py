"""The official Qoder SDK (``qca.managed``) drives the Work API of a real workyard server.

The server runs in uvicorn on a loopback port in a background thread, with the system clock; the
admin token comes from ``workyard token create`` beforehand.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from qca.common._exceptions import APIStatusError, ConflictError, NotFoundError
from qca.managed import Managed
from typer.testing import CliRunner

from workyard.api import create_app
from workyard.cli.main import app as cli_app
from workyard.clock import SystemClock, parse_ts
from workyard.config import Settings
from workyard.service.container import build_services

WORKER = "sdk-worker-1"


class _Server(uvicorn.Server):
    """A uvicorn server that signals when it is accepting connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:  # also on a failed startup: the fixture then sees ``started`` is false
            self.ready.set()


@dataclass(frozen=True)
class LiveServer:
    url: str
    token: str


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    args = ["token", "create", "--name", "t", "--kind", "admin", "--json"]
    created = CliRunner().invoke(cli_app, [*args, "--data-dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    token: str = json.loads(created.stdout)["token"]
    services = build_services(Settings(data_dir=tmp_path), clock=SystemClock())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(services), log_level="warning", access_log=False)
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(timeout=30), "the server did not start in time"
        assert server.started, "the server failed to start"
        yield LiveServer(f"http://127.0.0.1:{port}", token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive()


@pytest.fixture
def sdk(live_server: LiveServer) -> Iterator[Managed]:
    client = Managed(
        pat=live_server.token, base_url=f"{live_server.url}/api/v1/cloud/", max_retries=0
    )
    try:
        yield client
    finally:
        client.close()


def _str(value: str | None) -> str:
    """A field the server always fills (the SDK models every field as optional)."""
    assert isinstance(value, str), value
    return value


def _session_of(item: Any) -> str:
    assert item.data is not None
    assert item.data.type == "session"
    return _str(item.data.id)


def _self_hosted(sdk: Managed) -> str:
    env = sdk.environments.create(name="sdk env", config={"type": "self_hosted"})
    assert _str(env.id).startswith("env_")
    assert env.type == "environment"
    return _str(env.id)


def test_sdk_runs_a_work_item_through_its_lifecycle(sdk: Managed) -> None:
    work = sdk.environments.work
    env_id = _self_hosted(sdk)
    assert work.poll(env_id, block_ms=1) is None
    assert work.poll(env_id) is None
    empty = work.stats(env_id)
    assert (empty.type, empty.depth, empty.pending, empty.oldest_queued_at) == (
        "work_queue_stats",
        0,
        0,
        None,
    )

    session = sdk.sessions.create(
        agent="agent_sdk", environment_id=env_id, title="sdk", metadata={"k": "v"}
    )
    session_id = _str(session.id)
    assert session_id.startswith("sess_")
    assert session.status == "rescheduling"
    assert session.environment_id == env_id
    queued = work.stats(env_id)
    assert (queued.depth, queued.pending) == (1, 0)
    assert queued.oldest_queued_at is not None

    item = work.poll(env_id, block_ms=999, worker_id=WORKER)
    assert item is not None
    work_id = _str(item.id)
    assert work_id.startswith("work_")
    assert (item.type, item.state, item.environment_id) == ("work", "queued", env_id)
    assert _session_of(item) == session_id
    assert item.metadata == {"k": "v"}
    assert item.secret is None
    assert item.acknowledged_at is None
    pending = work.stats(env_id)
    assert (pending.depth, pending.pending, pending.workers_polling) == (0, 1, 1)

    acked = work.ack(work_id, environment_id=env_id, extra_headers={"Worker-ID": WORKER})
    assert acked.state == "starting"
    assert isinstance(acked.secret, str) and acked.secret.startswith(f"wis-{work_id}.")
    assert acked.acknowledged_at is not None
    parse_ts(acked.acknowledged_at)
    assert sdk.sessions.retrieve(session_id).status == "running"

    beat = work.heartbeat(
        work_id,
        environment_id=env_id,
        expected_last_heartbeat="NO_HEARTBEAT",
        desired_ttl_seconds=5,
    )
    assert (beat.type, beat.lease_extended, beat.state, beat.ttl_seconds) == (
        "work_heartbeat",
        True,
        "active",
        10,
    )
    assert beat.last_heartbeat is not None
    again = work.heartbeat(
        work_id, environment_id=env_id, expected_last_heartbeat=beat.last_heartbeat
    )
    assert again.ttl_seconds == 60
    assert again.last_heartbeat is not None
    assert parse_ts(again.last_heartbeat) > parse_ts(beat.last_heartbeat)
    with pytest.raises(APIStatusError) as stale:
        work.heartbeat(work_id, environment_id=env_id, expected_last_heartbeat=beat.last_heartbeat)
    assert stale.value.status_code == 412
    assert stale.value.type == "precondition_failed_error"

    updated = work.update(work_id, environment_id=env_id, metadata={"progress": "50%", "k": None})
    assert updated.metadata == {"progress": "50%"}
    retrieved = work.retrieve(work_id, environment_id=env_id)
    assert retrieved.model_dump() == updated.model_dump()
    assert (retrieved.state, retrieved.started_at) == ("active", beat.last_heartbeat)
    assert retrieved.latest_heartbeat_at == again.last_heartbeat

    stopping = work.stop(work_id, environment_id=env_id)
    assert stopping.state == "stopping"
    assert stopping.stop_requested_at is not None
    drain = work.heartbeat(
        work_id, environment_id=env_id, expected_last_heartbeat=again.last_heartbeat
    )
    assert drain.state == "stopping"
    stopped = work.stop(work_id, environment_id=env_id, force=False)
    assert stopped.state == "stopped"
    assert stopped.stopped_at is not None
    assert stopped.stop_requested_at == stopping.stop_requested_at
    assert (
        work.stop(work_id, environment_id=env_id, force=True).model_dump() == stopped.model_dump()
    )
    assert sdk.sessions.retrieve(session_id).status == "idle"

    with pytest.raises(ConflictError) as conflict:
        work.ack(work_id, environment_id=env_id)
    assert conflict.value.status_code == 409
    assert conflict.value.type == "invalid_request_error"
    with pytest.raises(ConflictError):
        work.heartbeat(work_id, environment_id=env_id)
    final = work.stats(env_id)
    assert (final.depth, final.pending, final.oldest_queued_at, final.workers_polling) == (
        0,
        0,
        None,
        1,
    )


def test_sdk_lists_work_across_pages(sdk: Managed) -> None:
    env_id = _self_hosted(sdk)
    sessions = [sdk.sessions.create(agent="agent_sdk", environment_id=env_id) for _ in range(3)]
    page = sdk.environments.work.list(env_id, limit=2)
    assert [_session_of(w) for w in page.data] == [s.id for s in sessions[:2]]
    assert page.has_more is True
    assert page.next_page is not None
    every = list(sdk.environments.work.list(env_id, limit=1))
    assert [_session_of(w) for w in every] == [s.id for s in sessions]
    ids = [_str(w.id) for w in every]
    assert ids == sorted(ids)
    assert all(w.state == "queued" for w in every)


def test_sdk_errors_decode(sdk: Managed) -> None:
    env_id = _self_hosted(sdk)
    missing = "work_" + "0" * 32
    with pytest.raises(NotFoundError) as not_found:
        sdk.environments.work.retrieve(missing, environment_id=env_id)
    assert not_found.value.type == "not_found_error"
    with pytest.raises(APIStatusError) as bad:
        sdk.environments.work.poll(env_id, block_ms=1000)
    assert bad.value.status_code == 400
    assert bad.value.body["error"]["param"] == "block_ms"
    assert bad.value.request_id == bad.value.body["request_id"]
