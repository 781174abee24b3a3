"""The official SDK (``qca.managed``) sends, lists and streams session events on a real server.

The server runs in uvicorn on a loopback port in a background thread, with the system clock.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from qca.managed import Managed
from typer.testing import CliRunner

from workyard.api import create_app
from workyard.cli.main import app as cli_app
from workyard.client import Client
from workyard.clock import SystemClock
from workyard.config import Settings
from workyard.service.container import build_services


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(base URL, admin token)`` of a real server on a free loopback port."""
    args = ["token", "create", "--name", "t", "--kind", "admin", "--json"]
    created = CliRunner().invoke(cli_app, [*args, "--data-dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    token: str = json.loads(created.stdout)["token"]
    services = build_services(Settings(data_dir=tmp_path), clock=SystemClock())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(services), log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(timeout=30), "the server did not start in time"
        assert server.started, "the server failed to start"
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def sdk(live_server: tuple[str, str]) -> Iterator[Managed]:
    url, token = live_server
    client = Managed(pat=token, base_url=f"{url}/api/v1/cloud/", max_retries=0, timeout=15)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def ours(live_server: tuple[str, str]) -> Iterator[Client]:
    with Client(*live_server) as client:
        yield client


def _session(sdk: Managed) -> str:
    env = sdk.environments.create(name="sdk env", config={"type": "self_hosted"})
    assert isinstance(env.id, str)
    session = sdk.sessions.create(agent="agent_sdk", environment_id=env.id, title="events")
    assert isinstance(session.id, str)
    return session.id


def test_sdk_sends_and_lists_events(sdk: Managed, ours: Client) -> None:
    session_id = _session(sdk)
    sent = sdk.sessions.events.send(
        session_id,
        events=[
            {"type": "user.message", "content": [{"type": "text", "text": "hello"}]},
            {"type": "user.interrupt"},
        ],
    )
    assert sent.data is not None
    assert [e.type for e in sent.data] == ["user.message", "user.interrupt"]
    first = sent.data[0]
    assert first.id is not None and first.id.startswith("evt_")
    assert first.processed_at is not None
    assert first.content is not None
    assert [(b.type, b.text) for b in first.content] == [("text", "hello")]
    # A worker's events, sent with our SDK, decode in theirs.
    ours.sessions.events.send(
        session_id,
        [
            {"type": "agent.message", "content": "echo: hello"},
            {"type": "agent.tool_use", "name": "bash", "input": {"cmd": "ls"}},
            {"type": "agent.tool_result", "tool_use_id": "t1", "content": "x", "is_error": True},
            {"type": "session.error", "error": {"message": "boom"}},
        ],
    )

    listed = list(sdk.sessions.events.list(session_id, limit=2))
    assert [e.type for e in listed] == [
        "user.message",
        "user.interrupt",
        "agent.message",
        "agent.tool_use",
        "agent.tool_result",
        "session.error",
    ]
    assert [e.id for e in listed] == sorted(e.id for e in listed if e.id)
    assert listed[0].id == first.id
    assert listed[3].input == {"cmd": "ls"}
    assert listed[4].is_error is True
    assert listed[4].tool_use_id == "t1"

    newest = sdk.sessions.events.list(session_id, order="desc", limit=1)
    assert [e.type for e in newest.data] == ["session.error"]
    only = list(sdk.sessions.events.list(session_id, types=["user.message", "agent.message"]))
    assert [e.type for e in only] == ["user.message", "agent.message"]
    assert [e.id for e in ours.sessions.events.list_all(session_id)] == [e.id for e in listed]


def test_sdk_streams_events_and_resumes_with_last_event_id(sdk: Managed, ours: Client) -> None:
    session_id = _session(sdk)
    sent = ours.sessions.events.send(
        session_id,
        [{"type": "user.message", "content": f"m{n}"} for n in range(3)],
    )
    with sdk.sessions.events.stream(session_id) as stream:
        received = [next(stream) for _ in sent]
    assert [e.id for e in received] == [e.id for e in sent]
    assert [e.type for e in received] == ["user.message"] * 3
    assert received[2].content is not None
    assert received[2].content[0].text == "m2"

    with sdk.sessions.events.stream(session_id, last_event_id=sent[0].id) as resumed:
        assert next(resumed).id == sent[1].id


def test_sdk_cancel_interrupts_only_a_running_session(sdk: Managed, ours: Client) -> None:
    session_id = _session(sdk)
    queued = sdk.sessions.cancel(session_id)
    assert (queued.id, queued.type, queued.status) == (session_id, "session", "canceling")
    assert list(sdk.sessions.events.list(session_id)) == []  # nothing was running

    session = ours.sessions.retrieve(session_id)
    assert session.work_id is not None
    ours.work.ack(session.environment_id, session.work_id, worker_id="w1")
    ours.work.heartbeat(
        session.environment_id, session.work_id, expected_last_heartbeat="NO_HEARTBEAT"
    )
    running = sdk.sessions.cancel(session_id)
    assert running.status == "canceling"
    assert [e.type for e in sdk.sessions.events.list(session_id)] == ["user.interrupt"]
