"""Per-item credentials (docs/tokens.md): minted by each ack, good for one session and one item.

Every route is tried with an item's credential; it works only on its own session and item, and
dies when the item stops, its lease expires or another worker takes the item over.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.test_work_table import work_path
from tests.conftest import _client, assert_error, create_environment, create_session
from workyard.clock import ManualClock
from workyard.domain.models import TokenKind
from workyard.service.container import Services

ClientFor = Callable[[str | None], httpx.AsyncClient]
WORKER = "worker-one"


async def _take(client: httpx.AsyncClient, env_id: str, work_id: str, worker: str = WORKER) -> str:
    """Ack an item (by id) and return the credential the ack minted."""
    response = await client.post(work_path(env_id, work_id, "/ack"), headers={"Worker-ID": worker})
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    assert secret.startswith(f"wis-{work_id}.")
    return secret


async def _setup(client: httpx.AsyncClient) -> dict[str, Any]:
    """Two sessions in one environment, one in another; the first one's item acked."""
    env_id = (await create_environment(client, name="A"))["id"]
    other_env = (await create_environment(client, name="B"))["id"]
    own = await create_session(client, env_id)
    sibling = await create_session(client, env_id)
    elsewhere = await create_session(client, other_env)
    secret = await _take(client, env_id, own["work_id"])
    return {
        "env": env_id,
        "other_env": other_env,
        "sid": own["id"],
        "wid": own["work_id"],
        "sibling_sid": sibling["id"],
        "sibling_wid": sibling["work_id"],
        "elsewhere_wid": elsewhere["work_id"],
        "secret": secret,
    }


AGENT = {"events": [{"type": "agent.message", "content": "hi"}]}
USER = {"events": [{"type": "user.message", "content": "hi"}]}
# (method, path template, body, expected status) — in an order where nothing ends the item early
MATRIX: list[tuple[str, str, Any, int]] = [
    ("GET", "/sessions/{sid}", None, 200),
    ("GET", "/sessions/{sid}/events", None, 200),
    ("POST", "/sessions/{sid}/events", AGENT, 200),
    ("POST", "/sessions/{sid}/events", USER, 403),
    ("POST", "/environments/{env}/work/{wid}/heartbeat", None, 200),
    ("POST", "/environments/{env}/work/{wid}", {"metadata": {"k": "v"}}, 200),
    ("POST", "/environments/{env}/work/{wid}", None, 200),
    ("GET", "/sessions/{sibling_sid}", None, 403),
    ("GET", "/sessions/{sibling_sid}/events", None, 403),
    ("POST", "/sessions/{sibling_sid}/events", AGENT, 403),
    ("GET", "/sessions/{sibling_sid}/events/stream", None, 403),
    ("POST", "/sessions/{sid}", {"title": "t"}, 403),
    ("POST", "/sessions/{sid}/archive", None, 403),
    ("POST", "/sessions/{sid}/cancel", None, 403),
    ("DELETE", "/sessions/{sid}", None, 403),
    ("GET", "/sessions", None, 403),
    ("GET", "/sessions?environment_id={env}", None, 403),
    ("POST", "/sessions", {"environment_id": "{env}"}, 403),
    ("GET", "/environments", None, 403),
    ("POST", "/environments", {"name": "x", "config": {"type": "self_hosted"}}, 403),
    ("GET", "/environments/{env}", None, 403),
    ("POST", "/environments/{env}", {"name": "y"}, 403),
    ("POST", "/environments/{env}/archive", None, 403),
    ("DELETE", "/environments/{env}", None, 403),
    ("GET", "/environments/{env}/work", None, 403),
    ("GET", "/environments/{env}/work/poll", None, 403),
    ("GET", "/environments/{env}/work/stats", None, 403),
    ("GET", "/environments/{env}/work/{wid}", None, 403),
    ("POST", "/environments/{env}/work/{wid}/ack", None, 403),
    ("POST", "/environments/{env}/work/{sibling_wid}/heartbeat", None, 403),
    ("POST", "/environments/{env}/work/{sibling_wid}/stop", None, 403),
    ("POST", "/environments/{env}/work/{sibling_wid}", {"metadata": {"k": "v"}}, 403),
    ("POST", "/environments/{other_env}/work/{elsewhere_wid}/heartbeat", None, 403),
    ("POST", "/environments/{other_env}/work/{wid}/stop", None, 403),
    ("POST", "/environments/{env}/work/{wid}/stop", None, 200),  # graceful: now stopping
    ("POST", "/environments/{env}/work/{wid}/heartbeat", None, 200),  # still its lease
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def test_every_route_with_an_item_credential(
    services: Services, client: httpx.AsyncClient
) -> None:
    ids = await _setup(client)
    async with _client(services, ids["secret"]) as item:
        for method, template, body, status in MATRIX:
            path = _fill(template, ids)
            response = await item.request(method, path, json=_fill(body, ids))
            assert response.status_code == status, (method, path, response.text)
            if status == 403:
                assert_error(response, 403, "permission_error")
        # the confirming stop ends the item, and the credential with it
        final = await item.post(work_path(ids["env"], ids["wid"], "/stop"))
        assert final.status_code == 200 and final.json()["state"] == "stopped"
        assert_error(await item.get(f"/sessions/{ids['sid']}"), 401, "authentication_error")
    listed = (await client.get(work_path(ids["env"]))).json()["data"]
    assert all(w["secret"] is None for w in listed)
    assert (await client.get(work_path(ids["env"], ids["wid"]))).json()["secret"] is None


async def test_the_credential_is_stored_hashed_and_never_shown_again(
    services: Services, client: httpx.AsyncClient
) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    polled = (await client.get(work_path(env_id, "", "/poll"))).json()
    assert polled["id"] == session["work_id"] and polled["secret"] is None
    secret = await _take(client, env_id, session["work_id"])
    row = await services.store.get_work(session["work_id"])
    assert row is not None
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    for path in (work_path(env_id, session["work_id"]), work_path(env_id)):
        text = (await client.get(path)).text
        assert secret not in text and row.secret_hash not in text
    beat = await client.post(work_path(env_id, session["work_id"], "/heartbeat"))
    assert row.secret_hash not in beat.text


@pytest.mark.parametrize("force", [True, False])
async def test_it_dies_when_the_item_stops(
    services: Services, client: httpx.AsyncClient, force: bool
) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    secret = await _take(client, env_id, session["work_id"])
    async with _client(services, secret) as item:
        assert (await item.get(f"/sessions/{session['id']}")).status_code == 200
        stop = work_path(env_id, session["work_id"], "/stop")
        await client.post(stop, json={"force": force})
        if not force:  # stopping: the worker still drains with it, then confirms
            assert (await item.get(f"/sessions/{session['id']}")).status_code == 200
            await client.post(stop)
        assert_error(await item.get(f"/sessions/{session['id']}"), 401, "authentication_error")
        assert_error(await item.post(stop), 401, "authentication_error")


async def test_it_dies_when_the_lease_expires_and_on_takeover(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    old = await _take(client, env_id, session["work_id"], "worker-old")
    async with _client(services, old) as first:
        beat = work_path(env_id, session["work_id"], "/heartbeat")
        assert (await first.post(beat)).status_code == 200
        clock.advance(59.999999)
        assert (await first.get(f"/sessions/{session['id']}")).status_code == 200
        clock.advance(0.000001)  # the lease has run out: the item is queued again
        assert_error(await first.get(f"/sessions/{session['id']}"), 401, "authentication_error")
        new = await _take(client, env_id, session["work_id"], "worker-new")
        async with _client(services, new) as second:
            assert (await second.post(beat)).status_code == 200
            assert_error(await first.post(beat), 401, "authentication_error")


async def test_a_second_ack_replaces_the_credential(
    services: Services, client: httpx.AsyncClient
) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    first = await _take(client, env_id, session["work_id"])
    again = await _take(client, env_id, session["work_id"])  # a retried ack
    assert again != first
    async with _client(services, first) as stale, _client(services, again) as fresh:
        path = f"/sessions/{session['id']}"
        assert_error(await stale.get(path), 401, "authentication_error")
        assert (await fresh.get(path)).status_code == 200


@pytest.mark.parametrize(
    "secret",
    [
        "wis-",
        "wis-work_0190a1b2c3d4e5f60718293a4b5c6d7e",
        "wis-work_0190a1b2c3d4e5f60718293a4b5c6d7e." + "A" * 43,
        "wis-work_0190a1b2c3d4e5f60718293a4b5c6d7e." + "!" * 43,
    ],
)
async def test_malformed_or_unknown_item_credentials_are_401(
    client_for: ClientFor, secret: str
) -> None:
    async with client_for(secret) as anonymous:
        assert_error(await anonymous.get("/sessions"), 401, "authentication_error")


async def test_a_stop_on_one_replica_kills_the_credential_on_another(
    replicas: list[Services],
) -> None:
    a, b = replicas
    _, admin = await a.tokens.create("admin", TokenKind.ADMIN)
    async with _client(a, admin) as on_a:
        env_id = (await create_environment(on_a))["id"]
        session = await create_session(on_a, env_id)
        secret = await _take(on_a, env_id, session["work_id"])
        async with _client(b, secret) as on_b:
            path = f"/sessions/{session['id']}"
            assert (await on_b.get(path)).status_code == 200  # cached on b
            changed = b.tokens.changed()
            await on_a.post(work_path(env_id, session["work_id"], "/stop"), json={"force": True})
            await asyncio.wait_for(changed.wait(), 10)  # b heard it from the change feed
            assert_error(await on_b.get(path), 401, "authentication_error")
