"""``Idempotency-Key`` on POSTs: replay, mismatch, per token, races, expiry (docs/api.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.events_support import list_all, message, new_session
from tests.api.test_work_table import work_path
from tests.conftest import TokenFactory, assert_error, create_environment
from workyard.api.idempotency import KEY_TTL_US
from workyard.clock import ManualClock
from workyard.service.container import Services

ClientFor = Callable[[str | None], httpx.AsyncClient]


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def _sessions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await client.get("/sessions")).json()["data"]
    return data


async def test_a_retry_replays_the_first_response(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"], "title": "once"}
    first = await client.post("/sessions", json=body, headers=keyed("k-1"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await client.post("/sessions", json=body, headers=keyed("k-1"))
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert [s["id"] for s in await _sessions(client)] == [first.json()["id"]]
    assert len((await client.get(work_path(env["id"]))).json()["data"]) == 1


async def test_a_retried_event_send_appends_once(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    path = f"/sessions/{session['id']}/events"
    body = {"events": [message("only once")]}
    first = await client.post(path, json=body, headers=keyed("send-1"))
    again = await client.post(path, json=body, headers=keyed("send-1"))
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert [e["content"][0]["text"] for e in await list_all(client, session["id"])] == ["only once"]


async def test_work_operations_replay_too(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    item = work_path(session["environment_id"], session["work_id"])
    first = await client.post(item + "/ack", headers=keyed("ack"))
    beat = await client.post(item + "/heartbeat", headers=keyed("beat"))
    beat_again = await client.post(item + "/heartbeat", headers=keyed("beat"))
    assert first.status_code == beat.status_code == 200
    assert beat_again.content == beat.content  # the same last_heartbeat: not a second heartbeat
    # a different query string is a different request
    other = await client.post(item + "/heartbeat?desired_ttl_seconds=30", headers=keyed("beat"))
    assert_error(other, 400, "invalid_request_error", "Idempotency-Key")


async def test_the_same_key_with_another_body_is_rejected(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    first = await client.post(
        "/sessions", json={"environment_id": env["id"], "title": "a"}, headers=keyed("k")
    )
    assert first.status_code == 201
    other = await client.post(
        "/sessions", json={"environment_id": env["id"], "title": "b"}, headers=keyed("k")
    )
    assert_error(other, 400, "invalid_request_error", "Idempotency-Key")
    elsewhere = await client.post(f"/sessions/{first.json()['id']}/archive", headers=keyed("k"))
    assert_error(elsewhere, 400, "invalid_request_error", "Idempotency-Key")
    assert [s["title"] for s in await _sessions(client)] == ["a"]


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é", "line\nbreak"])
async def test_malformed_keys_are_rejected(client: httpx.AsyncClient, key: str) -> None:
    env = await create_environment(client)
    response = await client.post(
        "/sessions",
        json={"environment_id": env["id"]},
        headers=[("Idempotency-Key", key.encode("utf-8"))],  # type: ignore[arg-type]
    )
    assert_error(response, 400, "invalid_request_error", "Idempotency-Key")
    assert await _sessions(client) == []


async def test_keys_at_the_length_limits_work(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    for key in ("k", "~" * 255, " spaces are printable "):
        body = {"environment_id": env["id"], "title": key}
        first = await client.post("/sessions", json=body, headers=keyed(key))
        again = await client.post("/sessions", json=body, headers=keyed(key))
        assert first.status_code == 201 and again.content == first.content
    assert len(await _sessions(client)) == 3


async def test_keys_are_per_token(
    client: httpx.AsyncClient, make_token: TokenFactory, client_for: ClientFor
) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"]}
    first = await client.post("/sessions", json=body, headers=keyed("shared"))
    async with client_for(await make_token("member")) as member:
        second = await member.post("/sessions", json=body, headers=keyed("shared"))
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert len(await _sessions(client)) == 2


async def test_unauthenticated_and_failed_requests_store_nothing(
    client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    env = await create_environment(client)
    async with client_for(None) as anonymous:
        denied = await anonymous.post("/sessions", json={}, headers=keyed("\t"))
    assert_error(denied, 401, "authentication_error")  # 401 before the key is looked at
    bad = await client.post("/sessions", json={"environment_id": 5}, headers=keyed("k"))
    assert_error(bad, 400, "invalid_request_error", "environment_id")
    # nothing was written, so nothing was stored: the key is free for a corrected request
    good = await client.post("/sessions", json={"environment_id": env["id"]}, headers=keyed("k"))
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers


async def test_concurrent_requests_with_one_key_execute_once(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"], "title": "raced"}
    responses = await asyncio.gather(
        *(client.post("/sessions", json=body, headers=keyed("race")) for _ in range(6))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert len(await _sessions(client)) == 1
    assert len((await client.get(work_path(env["id"]))).json()["data"]) == 1


async def test_keys_expire_after_a_day(client: httpx.AsyncClient, clock: ManualClock) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"]}
    first = await client.post("/sessions", json=body, headers=keyed("day"))
    clock.advance((KEY_TTL_US - 1) / 1e6)
    same = await client.post("/sessions", json=body, headers=keyed("day"))
    assert same.headers.get("idempotent-replayed") == "true" and same.content == first.content
    clock.advance(1e-6)
    later = await client.post("/sessions", json=body, headers=keyed("day"))
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    # the new first use is stored again, under the same key
    replay = await client.post("/sessions", json=body, headers=keyed("day"))
    assert replay.content == later.content and replay.headers["idempotent-replayed"] == "true"
    assert len(await _sessions(client)) == 2


async def test_expired_keys_are_pruned(
    client: httpx.AsyncClient, clock: ManualClock, services: Services, admin_token: str
) -> None:
    env = await create_environment(client)
    for n in range(3):
        await client.post("/sessions", json={"environment_id": env["id"]}, headers=keyed(f"p{n}"))
    token_id = (await services.tokens.authenticate(f"Bearer {admin_token}")).token_id
    clock.advance(KEY_TTL_US / 1e6 + 60)
    assert await services.store.get_idempotency(token_id, "p0", 0) is not None
    await client.post("/sessions", json={"environment_id": env["id"]}, headers=keyed("new"))
    for n in range(3):  # deleted, not just ignored: even a zero cutoff no longer finds them
        assert await services.store.get_idempotency(token_id, f"p{n}", 0) is None
    assert await services.store.get_idempotency(token_id, "new", 0) is not None


async def test_requests_without_a_key_are_untouched(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"]}
    a = await client.post("/sessions", json=body)
    b = await client.post("/sessions", json=body)
    assert a.json()["id"] != b.json()["id"] and "idempotent-replayed" not in b.headers
