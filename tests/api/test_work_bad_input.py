"""spec/work.md §3 and §5: invalid input on the Work routes, and the order of the checks.

Each rejection names its parameter and changes nothing (the item is read back afterwards).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.test_work_table import build_item, get_item, work_path
from tests.conftest import TokenFactory, assert_error, create_environment, create_session
from workyard.clock import ManualClock
from workyard.ids import new_id

ClientFor = Callable[[str | None], httpx.AsyncClient]
ROUTES = [
    ("GET", ""),
    ("GET", "/poll"),
    ("GET", "/stats"),
    ("GET", "/{w}"),
    ("POST", "/{w}"),
    ("POST", "/{w}/ack"),
    ("POST", "/{w}/heartbeat"),
    ("POST", "/{w}/stop"),
]


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


async def call(
    client: httpx.AsyncClient, method: str, env: str, route: str, work_id: str, **kwargs: Any
) -> httpx.Response:
    path = f"/environments/{env}/work" + route.replace("{w}", work_id)
    return await client.request(method, path, **kwargs)


async def assert_undelivered(client: httpx.AsyncClient, env_id: str) -> None:
    stats = (await client.get(work_path(env_id, "", "/stats"))).json()
    assert (stats["depth"], stats["pending"], stats["workers_polling"]) == (1, 0, 0)


# poll --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("block_ms", "0"),
        ("block_ms", "1000"),
        ("block_ms", "abc"),
        ("block_ms", "-1"),
        ("block_ms", "1.5"),
        ("block_ms", ""),
        ("block_ms", "+5"),
        ("block_ms", " 5"),
        ("block_ms", "1e2"),
        ("reclaim_older_than_ms", "-1"),
        ("reclaim_older_than_ms", "x"),
        ("reclaim_older_than_ms", "2.0"),
    ],
)
async def test_poll_rejects_bad_query(
    client: httpx.AsyncClient, env_id: str, name: str, value: str
) -> None:
    await create_session(client, env_id)
    response = await client.get(
        work_path(env_id, "", "/poll"), params={name: value}, headers={"Worker-ID": "w"}
    )
    assert_error(response, 400, "invalid_request_error", name)
    await assert_undelivered(client, env_id)


@pytest.mark.parametrize("worker", ["x" * 129, ""])
async def test_poll_rejects_bad_worker_id(
    client: httpx.AsyncClient, env_id: str, worker: str
) -> None:
    await create_session(client, env_id)
    response = await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": worker})
    assert_error(response, 400, "invalid_request_error", "Worker-ID")
    await assert_undelivered(client, env_id)


async def test_worker_id_of_128_characters_is_accepted(
    client: httpx.AsyncClient, env_id: str
) -> None:
    session = await create_session(client, env_id)
    worker = "w" * 127 + "~"
    polled = await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": worker})
    assert polled.json()["id"] == session["work_id"]
    acked = await client.post(
        work_path(env_id, session["work_id"], "/ack"), headers={"Worker-ID": worker}
    )
    assert acked.status_code == 200


async def test_ack_rejects_long_worker_id(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    before = await build_item(client, clock, env_id, "queued")
    response = await client.post(
        work_path(env_id, before["id"], "/ack"), headers={"Worker-ID": "x" * 129}
    )
    assert_error(response, 400, "invalid_request_error", "Worker-ID")
    assert await get_item(client, env_id, before["id"]) == before


# heartbeat ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("desired_ttl_seconds", "0"),
        ("desired_ttl_seconds", "-5"),
        ("desired_ttl_seconds", "1.5"),
        ("desired_ttl_seconds", "ten"),
        ("expected_last_heartbeat", "yesterday"),
        ("expected_last_heartbeat", "2026-07-01"),
        ("expected_last_heartbeat", "no_heartbeat"),
        ("expected_last_heartbeat", "2026-07-01T08:00:00"),  # no offset
        ("expected_last_heartbeat", ""),
    ],
)
async def test_heartbeat_rejects_bad_query(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, name: str, value: str
) -> None:
    before = await build_item(client, clock, env_id, "starting")
    response = await client.post(
        work_path(env_id, before["id"], "/heartbeat"), params={name: value}
    )
    assert_error(response, 400, "invalid_request_error", name)
    assert await get_item(client, env_id, before["id"]) == before


# stop --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"json": {"force": "yes"}}, "force"),
        ({"json": {"force": 1}}, "force"),
        ({"json": {"force": "true"}}, "force"),
        ({"json": {"force": [True]}}, "force"),
        ({"content": b'{"force": tru'}, None),
        ({"content": b"[]"}, None),
        ({"content": b'"stop"'}, None),
    ],
)
async def test_stop_rejects_bad_body(
    client: httpx.AsyncClient,
    clock: ManualClock,
    env_id: str,
    body: dict[str, Any],
    param: str | None,
) -> None:
    before = await build_item(client, clock, env_id, "active")
    response = await client.post(work_path(env_id, before["id"], "/stop"), **body)
    assert_error(response, 400, "invalid_request_error", param)
    assert await get_item(client, env_id, before["id"]) == before


async def test_invalid_json_message(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    before = await build_item(client, clock, env_id, "active")
    for suffix in ("/stop", "", "/ack"):
        response = await client.post(work_path(env_id, before["id"], suffix), content=b"{oops")
        body = assert_error(response, 400, "invalid_request_error")
        assert body["error"]["message"] == "Request body must be valid JSON."
    assert await get_item(client, env_id, before["id"]) == before


# metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"n": 5},
        {"n": 1.5},
        {"n": True},
        {"n": False},
        {"n": {"a": "b"}},
        {"n": ["x"]},
        {"ok": "fine", "n": 0},
        {f"k{i}": "v" for i in range(16)},  # 16 new keys + the existing "k" = 17
        {"k" * 65: "v"},
        {"": "v"},
        {"n": "v" * 513},
        "not an object",
        ["n", "v"],
        7,
    ],
    ids=[
        "number",
        "float",
        "true",
        "false",
        "object",
        "array",
        "mixed",
        "17-keys",
        "65-char-key",
        "empty-key",
        "513-char-value",
        "string",
        "list",
        "int",
    ],
)
async def test_metadata_update_rejects_invalid_patch(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, metadata: Any
) -> None:
    before = await build_item(client, clock, env_id, "active")
    response = await client.post(work_path(env_id, before["id"]), json={"metadata": metadata})
    body = assert_error(response, 400, "invalid_request_error", "metadata")
    if isinstance(metadata, dict) and "n" in metadata:
        assert "n" in body["error"]["message"]
    assert await get_item(client, env_id, before["id"]) == before


async def test_metadata_limits_at_the_edge_are_accepted(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    before = await build_item(client, clock, env_id, "active")
    patch = {"k" * 64: "v" * 512, **{f"x{i}": "" for i in range(14)}}  # with "k": 16 keys
    response = await client.post(work_path(env_id, before["id"]), json={"metadata": patch})
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"k": "v", **patch}


# where the item and the environment are ----------------------------------------------------


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if "{w}" in r[1]])
async def test_work_of_another_environment_is_not_found(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, method: str, route: str
) -> None:
    before = await build_item(client, clock, env_id, "starting")
    other = (await create_environment(client))["id"]
    response = await call(client, method, other, route, before["id"])
    assert_error(response, 404, "not_found_error")
    assert await get_item(client, env_id, before["id"]) == before


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if "{w}" in r[1]])
@pytest.mark.parametrize(
    "bad_id", ["sess_{hex}", "work_{HEX}", "work_{hex}0", "work-{hex}", "{hex}", "work_"]
)
async def test_malformed_work_id_is_not_found(
    client: httpx.AsyncClient, env_id: str, method: str, route: str, bad_id: str
) -> None:
    session = await create_session(client, env_id)
    hex_part = session["work_id"].removeprefix("work_")
    work_id = bad_id.format(hex=hex_part, HEX=hex_part.upper())
    response = await call(client, method, env_id, route, work_id)
    assert_error(response, 404, "not_found_error")


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_cloud_environment_has_no_work(
    client: httpx.AsyncClient, method: str, route: str
) -> None:
    cloud = (await create_environment(client, "cloud"))["id"]
    response = await call(client, method, cloud, route, new_id("work"))
    assert_error(response, 400, "invalid_request_error", "environment_id")


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize("env", ["known-shape", "env_nothex", "sess_shape"])
async def test_unknown_environment_is_not_found(
    client: httpx.AsyncClient, method: str, route: str, env: str
) -> None:
    env_id = {
        "known-shape": new_id("env"),
        "env_nothex": "env_nothex",
        "sess_shape": new_id("sess"),
    }[env]
    response = await call(client, method, env_id, route, new_id("work"))
    assert_error(response, 404, "not_found_error")


# check order: 401 → 400 → 404 env → 400 env type → 403 → 404 item → 409 → 412 --------------


async def test_authentication_comes_first(client_for: ClientFor, env_id: str) -> None:
    async with client_for(None) as anonymous:
        response = await anonymous.get(
            work_path(new_id("env"), "", "/poll"), params={"block_ms": "0"}
        )
    assert_error(response, 401, "authentication_error")


async def test_bad_parameter_before_unknown_environment(client: httpx.AsyncClient) -> None:
    unknown = new_id("env")
    poll = await client.get(work_path(unknown, "", "/poll"), params={"block_ms": "0"})
    assert_error(poll, 400, "invalid_request_error", "block_ms")
    beat = await client.post(
        work_path(unknown, new_id("work"), "/heartbeat"), params={"desired_ttl_seconds": "0"}
    )
    assert_error(beat, 400, "invalid_request_error", "desired_ttl_seconds")
    listing = await client.get(work_path(unknown), params={"state": "bogus"})
    assert_error(listing, 400, "invalid_request_error", "state")
    stop = await client.post(work_path(unknown, new_id("work"), "/stop"), json={"force": "yes"})
    assert_error(stop, 400, "invalid_request_error", "force")


async def test_bad_parameter_before_environment_type(client: httpx.AsyncClient) -> None:
    cloud = (await create_environment(client, "cloud"))["id"]
    poll = await client.get(work_path(cloud, "", "/poll"), params={"reclaim_older_than_ms": "-1"})
    assert_error(poll, 400, "invalid_request_error", "reclaim_older_than_ms")


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_worker_token_of_other_environment(
    client: httpx.AsyncClient,
    client_for: ClientFor,
    make_token: TokenFactory,
    env_id: str,
    method: str,
    route: str,
) -> None:
    mine = (await create_environment(client))["id"]
    cloud = (await create_environment(client, "cloud"))["id"]
    session = await create_session(client, env_id)
    token = await make_token("worker", (mine,))
    async with client_for(token) as worker:
        unknown = await call(worker, method, new_id("env"), route, new_id("work"))
        assert_error(unknown, 404, "not_found_error")
        cloud_env = await call(worker, method, cloud, route, new_id("work"))
        assert_error(cloud_env, 400, "invalid_request_error", "environment_id")
        existing = await call(worker, method, env_id, route, session["work_id"])
        assert_error(existing, 403, "permission_error")
        missing_item = await call(worker, method, env_id, route, new_id("work"))
        assert_error(missing_item, 403, "permission_error")
        own_missing_item = await call(worker, method, mine, route, new_id("work"))
        if "{w}" in route:
            assert_error(own_missing_item, 404, "not_found_error")
        else:
            assert own_missing_item.status_code == 200
    assert (await get_item(client, env_id, session["work_id"]))["state"] == "queued"


async def test_list_rejects_unknown_state(client: httpx.AsyncClient, env_id: str) -> None:
    for value in ("bogus", "queued,bogus", "", "QUEUED", "queued,"):
        response = await client.get(work_path(env_id), params={"state": value})
        assert_error(response, 400, "invalid_request_error", "state")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5"])
async def test_list_rejects_bad_limit(client: httpx.AsyncClient, env_id: str, value: str) -> None:
    response = await client.get(work_path(env_id), params={"limit": value})
    assert_error(response, 400, "invalid_request_error", "limit")
