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
            assert member.get("/environments").status_code == 401  # no waiting, no retrying
            assert _until_end(stream) == []
        assert member.get(f"/sessions/{session['id']}/events/stream").status_code == 401


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
