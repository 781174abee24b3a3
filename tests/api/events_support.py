"""Helpers for the session-event API tests (spec/sessions.md, "Events")."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_work_table import work_path
from tests.conftest import create_environment, create_session

# What a work item goes through, from ``queued``, to reach each state (admin client, no Worker-ID).
STEPS: dict[str, list[str]] = {
    "queued": [],
    "starting": ["/ack"],
    "active": ["/ack", "/heartbeat"],
    "stopping": ["/ack", "/heartbeat", "/stop"],
    "stopped": ["/ack", "/heartbeat", "/stop", "/stop"],
}


def message(text: str = "hi", kind: str = "user.message") -> dict[str, Any]:
    return {"type": kind, "content": text}


async def new_session(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A session in a new self-hosted environment."""
    env = await create_environment(client)
    return await create_session(client, env["id"], **fields)


async def post_events(
    client: httpx.AsyncClient, session_id: str, *events: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/sessions/{session_id}/events", json={"events": list(events)})


async def send(
    client: httpx.AsyncClient, session_id: str, *events: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send events, assert 200 and return the created events."""
    response = await post_events(client, session_id, *events)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}, body
    created: list[dict[str, Any]] = body["data"]
    return created


async def list_page(
    client: httpx.AsyncClient, session_id: str, params: Any = None
) -> dict[str, Any]:
    response = await client.get(f"/sessions/{session_id}/events", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def list_all(client: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    """Every event of the session, ascending, following ``next_page``."""
    params: dict[str, Any] = {"limit": 100}
    events: list[dict[str, Any]] = []
    while True:
        body = await list_page(client, session_id, params)
        events += body["data"]
        if not body["has_more"]:
            return events
        params = {"limit": 100, "page": body["next_page"]}


async def event_ids(client: httpx.AsyncClient, session_id: str, params: Any = None) -> list[str]:
    return [e["id"] for e in (await list_page(client, session_id, params))["data"]]


async def drive_work(client: httpx.AsyncClient, session: dict[str, Any], state: str) -> None:
    """Bring the session's current work item from ``queued`` to ``state``."""
    for suffix in STEPS[state]:
        response = await client.post(
            work_path(session["environment_id"], session["work_id"], suffix)
        )
        assert response.status_code == 200, response.text


async def get_json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def work_items(client: httpx.AsyncClient, env_id: str) -> list[dict[str, Any]]:
    """Every work item of the environment (the list holds fewer than 100 in these tests)."""
    body = await get_json(client, work_path(env_id) + "?limit=100")
    assert not body["has_more"]
    items: list[dict[str, Any]] = body["data"]
    return items
