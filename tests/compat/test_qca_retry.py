"""The official SDK's own retry of keyed POSTs, through a fault that loses the first response.

``qca-sdk`` retries a POST after a transport error only when it carries an ``Idempotency-Key``.
The fault here lets the request reach the server and run to completion, then drops the response
(the client sees the connection closed, as after a proxy reset); the SDK retries with the same key
and must receive the first response's result, with the work done exactly once.
"""

from __future__ import annotations

import httpx
import pytest
from qca.common import APIConnectionError
from qca.managed import AsyncManaged

from workyard.api import create_app
from workyard.service.container import Services

BASE = "http://testserver/api/v1/cloud/"


class DropFirstPostResponse(httpx.AsyncBaseTransport):
    """Forwards every request; the first POST's response is read, then lost."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.posts: list[httpx.Response] = []
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "POST":
            return response
        await response.aread()
        self.posts.append(response)
        if self.dropped == 0:
            self.dropped += 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return response


@pytest.fixture
def faulty(services: Services) -> DropFirstPostResponse:
    return DropFirstPostResponse(
        httpx.ASGITransport(app=create_app(services, manage_lifecycle=False))
    )


def _sdk(transport: httpx.AsyncBaseTransport, token: str, retries: int = 2) -> AsyncManaged:
    http = httpx.AsyncClient(transport=transport, base_url=BASE, timeout=15)
    return AsyncManaged(pat=token, base_url=BASE, max_retries=retries, http_client=http)


async def _environment(transport: httpx.AsyncBaseTransport, token: str) -> str:
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as plain:
        response = await plain.post(
            "environments",
            json={"name": "retry", "config": {"type": "self_hosted"}},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    env_id: str = response.json()["id"]
    return env_id


async def _session_count(transport: httpx.AsyncBaseTransport, token: str) -> int:
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as plain:
        response = await plain.get("sessions", headers={"authorization": f"Bearer {token}"})
    return len(response.json()["data"])


async def test_a_keyed_session_create_survives_a_lost_response(
    faulty: DropFirstPostResponse, admin_token: str
) -> None:
    env_id = await _environment(faulty.inner, admin_token)
    sdk = _sdk(faulty, admin_token)
    session = await sdk.sessions.create(
        agent="agent_x",
        environment_id=env_id,
        title="exactly once",
        extra_headers={"Idempotency-Key": "create-after-reset"},
    )
    assert session.title == "exactly once" and session.environment_id == env_id
    lost, replayed = faulty.posts
    assert lost.status_code == replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == lost.json() and session.id == lost.json()["id"]
    assert await _session_count(faulty.inner, admin_token) == 1


async def test_a_keyed_event_send_survives_a_lost_response(
    faulty: DropFirstPostResponse, admin_token: str
) -> None:
    env_id = await _environment(faulty.inner, admin_token)
    async with httpx.AsyncClient(transport=faulty.inner, base_url=BASE) as plain:
        auth = {"authorization": f"Bearer {admin_token}"}
        created = await plain.post("sessions", json={"environment_id": env_id}, headers=auth)
        session_id = created.json()["id"]
        sdk = _sdk(faulty, admin_token)
        await sdk.sessions.events.send(
            session_id,
            events=[{"type": "user.message", "content": [{"type": "text", "text": "once"}]}],
            extra_headers={"Idempotency-Key": "send-after-reset"},
        )
        events = (await plain.get(f"sessions/{session_id}/events", headers=auth)).json()["data"]
    assert [e["content"][0]["text"] for e in events] == ["once"]
    assert faulty.posts[1].headers["idempotent-replayed"] == "true"


async def test_without_a_key_the_sdk_does_not_retry_a_post(
    faulty: DropFirstPostResponse, admin_token: str
) -> None:
    """The control: the fault is real, and only the key makes the SDK's retry safe."""
    env_id = await _environment(faulty.inner, admin_token)
    sdk = _sdk(faulty, admin_token)
    with pytest.raises(APIConnectionError):
        await sdk.sessions.create(agent="agent_x", environment_id=env_id)
    assert len(faulty.posts) == 1  # executed once, its response lost, never retried
    assert await _session_count(faulty.inner, admin_token) == 1
