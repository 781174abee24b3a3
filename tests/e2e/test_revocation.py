"""Dead credentials end at once on a real server: ``workyard token revoke`` from another process
(SQLite) is 401 at the very next request, and open streams of dead credentials end."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import ServerProcess
from tests.e2e.sse_support import Stream, api_client, append, new_session, open_stream
from tests.e2e.test_cli_e2e import cli, cli_json


def _as(server: ServerProcess, token: str) -> httpx.Client:
    headers = {"authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.api, headers=headers, timeout=10)


def _until_end(stream: Stream) -> list[str]:
    """Read until the server ends the stream; return the event ids seen meanwhile."""
    seen: list[str] = []
    while (frame := stream.next()) is not None:
        if frame.id is not None:
            seen.append(frame.id)
    return seen


def test_cli_revoke_is_401_at_the_next_request_and_ends_open_streams(
    server: ServerProcess,
) -> None:
    created = cli_json(server, "token", "create", "--name", "viewer", "--kind", "member")
    with api_client(server) as admin, _as(server, created["token"]) as member:
        session = new_session(admin)
        first = append(admin, session["id"], "before")[0]
        assert member.get("/environments").status_code == 200  # the server caches it now
        with open_stream(member, session["id"]) as stream:
            assert stream.events(1)[0].id == first["id"]
            cli(server, "token", "revoke", created["id"])
            assert _until_end(stream) == []  # the server noticed the other process's commit
        assert member.get("/environments").status_code == 401
        assert member.get(f"/sessions/{session['id']}/events/stream").status_code == 401


def test_the_request_right_after_a_cli_revoke_is_401(server: ServerProcess) -> None:
    created = cli_json(server, "token", "create", "--name", "ci", "--kind", "member")
    with _as(server, created["token"]) as member:
        assert member.get("/environments").status_code == 200  # the server caches it now
        cli(server, "token", "revoke", created["id"])
        assert member.get("/environments").status_code == 401  # no waiting, no retrying


def test_an_item_credential_streams_its_session_until_the_item_stops(
    server: ServerProcess,
) -> None:
    with api_client(server) as admin:
        session = new_session(admin)
        env_id, work_id = session["environment_id"], session["work_id"]
        acked = admin.post(f"/environments/{env_id}/work/{work_id}/ack")
        secret = acked.json()["secret"]
        with _as(server, secret) as item, open_stream(item, session["id"]) as stream:
            sent = append(item, session["id"], "from the agent")[0]
            assert stream.events(1)[0].id == sent["id"]
            stopped = admin.post(
                f"/environments/{env_id}/work/{work_id}/stop", json={"force": True}
            )
            assert stopped.json()["state"] == "stopped"
            assert _until_end(stream) == []
            assert item.get(f"/sessions/{session['id']}").status_code == 401


def test_an_item_credential_stream_ends_when_the_lease_expires(server: ServerProcess) -> None:
    with api_client(server) as admin:
        session = new_session(admin)
        env_id, work_id = session["environment_id"], session["work_id"]
        secret = admin.post(f"/environments/{env_id}/work/{work_id}/ack").json()["secret"]
        with _as(server, secret) as item, open_stream(item, session["id"]) as stream:
            sent = append(item, session["id"], "working")[0]
            assert stream.events(1)[0].id == sent["id"]
            server.advance(60)  # the ack lease (60 s by default) runs out on the server's clock
            assert _until_end(stream) == []
            assert item.get(f"/sessions/{session['id']}").status_code == 401
        assert admin.get(f"/environments/{env_id}/work/{work_id}").json()["state"] == "queued"
