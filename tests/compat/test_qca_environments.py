"""The official SDK (``qca-sdk``, ``qca.managed``) drives environments on a real workyard server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import qca
import uvicorn
from qca.managed import Managed
from typer.testing import CliRunner

from workyard.api import create_app
from workyard.cli.main import app as cli_app
from workyard.clock import SystemClock
from workyard.config import Settings
from workyard.ids import is_id
from workyard.service.container import build_services


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    token: str

    def sdk(self, token: str | None = None) -> Managed:
        return Managed(
            pat=token or self.token,
            base_url=f"{self.base_url}/api/v1/cloud/",
            max_retries=0,
            timeout=15,
        )


def _create_admin_token(data_dir: Path) -> str:
    result = CliRunner().invoke(
        cli_app,
        [
            "token",
            "create",
            "--name",
            "compat",
            "--kind",
            "admin",
            "--json",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    token: str = json.loads(result.stdout)["token"]
    return token


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """workyard in a real uvicorn server on a free loopback port, in a background thread."""
    token = _create_admin_token(tmp_path)
    services = build_services(Settings(data_dir=tmp_path), clock=SystemClock())
    # Bind and listen before the server starts: early connections wait in the backlog, so no
    # readiness polling is needed (uvicorn runs the lifespan, opening the store, before serving).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "the server did not shut down"


def test_environment_lifecycle(live_server: LiveServer) -> None:
    with live_server.sdk() as client:
        env = client.environments.create(
            name="sdk env",
            description="made by qca",
            config={"type": "self_hosted"},
            metadata={"team": "sdk", "drop": "me"},
        )
        assert env.id is not None and is_id("env", env.id)
        assert env.type == "environment"
        assert env.name == "sdk env"
        assert env.description == "made by qca"
        assert env.config is not None and env.config.type == "self_hosted"
        assert env.metadata == {"team": "sdk", "drop": "me"}
        assert env.archived_at is None
        assert env.created_at is not None and env.created_at.endswith("Z")

        fetched = client.environments.retrieve(env.id)
        assert fetched.to_dict() == env.to_dict()

        updated = client.environments.update(
            env.id, name="renamed", metadata={"drop": None, "new": "value"}
        )
        assert updated.id == env.id
        assert updated.name == "renamed"
        assert updated.description == "made by qca"
        assert updated.metadata == {"team": "sdk", "new": "value"}
        assert updated.config is not None and updated.config.type == "self_hosted"

        assert env.id in [e.id for e in client.environments.list()]

        archived = client.environments.archive(env.id)
        assert archived.archived_at is not None and archived.archived_at.endswith("Z")
        assert client.environments.archive(env.id).to_dict() == archived.to_dict()
        assert env.id not in [e.id for e in client.environments.list()]
        assert env.id in [e.id for e in client.environments.list(include_archived=True)]

        deleted = client.environments.delete(env.id)
        assert deleted.id == env.id
        assert deleted.type == "environment_deleted"
        with pytest.raises(qca.NotFoundError) as info:
            client.environments.retrieve(env.id)
        assert info.value.status_code == 404
        assert info.value.type == "not_found_error"


def test_list_iterates_every_page(live_server: LiveServer) -> None:
    with live_server.sdk() as client:
        created = [
            client.environments.create(name=f"p{i}", config={"type": "self_hosted"}).id
            for i in range(7)
        ]
        first = client.environments.list(limit=3)
        assert [e.id for e in first.data] == list(reversed(created))[:3]
        assert first.has_more is True
        assert first.next_page is not None
        assert [page.has_more for page in first.iter_pages()] == [True, True, False]
        assert [e.id for e in client.environments.list(limit=3)] == list(reversed(created))


def test_list_filters_by_creation_time(live_server: LiveServer) -> None:
    with live_server.sdk() as client:
        ids = [client.environments.create(name=f"t{i}").id for i in range(3)]
        middle = client.environments.retrieve(str(ids[1]))
        assert middle.created_at is not None
        since = datetime.fromisoformat(middle.created_at)
        newer = client.environments.list(created_at_gte=since)
        assert [e.id for e in newer] == [ids[2], ids[1]]
        older = client.environments.list(created_at_lte=since)
        assert [e.id for e in older] == [ids[1], ids[0]]


def test_cloud_config_round_trip(live_server: LiveServer) -> None:
    with live_server.sdk() as client:
        env = client.environments.create(
            name="cloud",
            config={
                "type": "cloud",
                "networking": {"type": "limited", "allowed_hosts": ["pypi.org"]},
                "setup_script": "echo hi",
            },
        )
        assert env.config is not None
        assert env.config.type == "cloud"
        assert env.config.setup_script == "echo hi"
        raw = env.to_dict(mode="json")
        assert raw["config"]["networking"] == {"type": "limited", "allowed_hosts": ["pypi.org"]}
        assert env.id is not None
        with pytest.raises(qca.BadRequestError) as info:
            client.environments.update(env.id, config={"type": "self_hosted"})
        assert info.value.status_code == 400
        assert info.value.type == "invalid_request_error"


def test_errors_decode_into_sdk_exceptions(live_server: LiveServer) -> None:
    with live_server.sdk() as client:
        with pytest.raises(qca.BadRequestError) as bad:
            client.environments.create(
                name="x", config={"type": "self_hosted", "setup_script": "echo no"}
            )
        assert bad.value.type == "invalid_request_error"
        assert bad.value.request_id

        env = client.environments.create(name="busy", config={"type": "self_hosted"})
        assert env.id is not None
        client.sessions.create(agent="agent_compat", environment_id=env.id)
        with pytest.raises(qca.ConflictError) as conflict:
            client.environments.delete(env.id)
        assert conflict.value.status_code == 409
        assert "archive" in conflict.value.message

    with (
        live_server.sdk("pt-" + "x" * 43) as stranger,
        pytest.raises(qca.AuthenticationError) as denied,
    ):
        stranger.environments.list()
    assert denied.value.type == "authentication_error"
