"""Bad input on every environment route: 400/404 naming the field, and nothing changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import assert_error, create_environment
from workyard.clock import ManualClock

SHA = "0190a1b2c3d4e5f60718293a4b5c6d7e"


def _keys(n: int, prefix: str = "k") -> dict[str, str]:
    return {f"{prefix}{i:02d}": "v" for i in range(n)}


NON_STRING_VALUES: list[Any] = [5, 1.5, True, False, [], ["a"], {}, {"a": "b"}]

CREATE_CASES: list[tuple[dict[str, Any], str]] = [
    ({}, "name"),
    ({"description": "no name"}, "name"),
    ({"name": 5}, "name"),
    ({"name": None}, "name"),
    ({"name": True}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": {"a": "b"}}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 257}, "name"),
    ({"name": "ok", "description": 5}, "description"),
    ({"name": "ok", "description": ["d"]}, "description"),
    ({"name": "ok", "description": False}, "description"),
    ({"name": "ok", "metadata": []}, "metadata"),
    ({"name": "ok", "metadata": ["a", "b"]}, "metadata"),
    ({"name": "ok", "metadata": "a=b"}, "metadata"),
    ({"name": "ok", "metadata": 5}, "metadata"),
    ({"name": "ok", "metadata": _keys(17)}, "metadata"),
    ({"name": "ok", "metadata": {"k" * 65: "v"}}, "metadata"),
    ({"name": "ok", "metadata": {"": "v"}}, "metadata"),
    ({"name": "ok", "metadata": {"k": "v" * 513}}, "metadata"),
    ({"name": "ok", "metadata": {"k": None}}, "metadata"),
    *[({"name": "ok", "metadata": {"k": value}}, "metadata") for value in NON_STRING_VALUES],
    ({"name": "ok", "config": {"type": "nope"}}, "config.type"),
    ({"name": "ok", "config": {"type": 5}}, "config.type"),
    ({"name": "ok", "config": {"type": "SELF_HOSTED"}}, "config.type"),
    ({"name": "ok", "config": 5}, "config"),
    ({"name": "ok", "config": "self_hosted"}, "config"),
]

UPDATE_CASES: list[tuple[dict[str, Any], str]] = [
    ({"name": 5}, "name"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 257}, "name"),
    ({"name": ["a"]}, "name"),
    ({"description": 5}, "description"),
    ({"description": {"a": "b"}}, "description"),
    ({"metadata": []}, "metadata"),
    ({"metadata": "a"}, "metadata"),
    ({"metadata": 5}, "metadata"),
    ({"metadata": True}, "metadata"),
    ({"metadata": _keys(16, "new")}, "metadata"),  # 2 stored + 16 new = 18 keys
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"metadata": {"team": "v" * 513}}, "metadata"),
    *[({"metadata": {"team": value}}, "metadata") for value in NON_STRING_VALUES],
    ({"config": {}}, "config"),
    ({"config": None}, "config"),
    ({"config": []}, "config"),
    ({"config": "self_hosted"}, "config"),
    ({"config": {"type": "nope"}}, "config.type"),
    ({"config": {"type": "self_hosted", "setup_script": "x"}}, "config.setup_script"),
    ({"config": {"type": "self_hosted", "networking": {"type": "limited"}}}, "config.networking"),
    ({"config": {"type": "cloud"}}, "config.type"),
    ({"name": "valid", "metadata": {"team": 1}}, "metadata"),  # all or nothing
]

NON_OBJECT_BODIES = [b"[]", b'[{"name": "x"}]', b'"name"', b"5", b"1.5", b"true", b"null"]


@pytest.fixture
async def env(client: httpx.AsyncClient, clock: ManualClock) -> dict[str, Any]:
    created = await create_environment(
        client, description="original", metadata={"team": "core", "tier": "1"}
    )
    clock.advance(5)  # any accidental write would move updated_at
    return created


async def assert_unchanged(client: httpx.AsyncClient, env: dict[str, Any]) -> None:
    assert (await client.get(f"/environments/{env['id']}")).json() == env
    listed = await client.get("/environments", params={"include_archived": "true"})
    assert listed.json()["data"] == [env]


@pytest.mark.parametrize(("body", "param"), CREATE_CASES)
async def test_create_with_bad_fields_is_400(
    client: httpx.AsyncClient, env: dict[str, Any], body: dict[str, Any], param: str
) -> None:
    response = await client.post("/environments", json=body)
    assert_error(response, 400, "invalid_request_error", param)
    await assert_unchanged(client, env)


@pytest.mark.parametrize(("body", "param"), UPDATE_CASES)
async def test_update_with_bad_fields_is_400(
    client: httpx.AsyncClient, env: dict[str, Any], body: dict[str, Any], param: str
) -> None:
    response = await client.post(f"/environments/{env['id']}", json=body)
    assert_error(response, 400, "invalid_request_error", param)
    await assert_unchanged(client, env)


async def test_boundary_lengths_are_accepted(client: httpx.AsyncClient) -> None:
    metadata = {**_keys(15), "k" * 64: "v" * 512}
    created = await create_environment(client, name="n" * 256, metadata=metadata)
    assert created["name"] == "n" * 256
    assert created["metadata"] == metadata
    single = await create_environment(client, name="x")
    assert single["name"] == "x"


@pytest.mark.parametrize("body", NON_OBJECT_BODIES)
@pytest.mark.parametrize(
    ("method", "suffix"), [("POST", None), ("POST", ""), ("POST", "/archive"), ("DELETE", "")]
)
async def test_non_object_bodies_are_400(
    client: httpx.AsyncClient,
    env: dict[str, Any],
    body: bytes,
    method: str,
    suffix: str | None,
) -> None:
    path = "/environments" if suffix is None else f"/environments/{env['id']}{suffix}"
    response = await client.request(
        method, path, content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request_error")
    await assert_unchanged(client, env)


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe{}", b'{"name": "x"} trailing'])
async def test_invalid_json_on_update_is_400(
    client: httpx.AsyncClient, env: dict[str, Any], body: bytes
) -> None:
    response = await client.post(f"/environments/{env['id']}", content=body)
    error = assert_error(response, 400, "invalid_request_error")["error"]
    assert error["message"] == "Request body must be valid JSON."
    await assert_unchanged(client, env)


async def test_create_with_empty_body_is_400(
    client: httpx.AsyncClient, env: dict[str, Any]
) -> None:
    assert_error(await client.post("/environments"), 400, "invalid_request_error")
    await assert_unchanged(client, env)


@pytest.mark.parametrize(
    "env_id",
    [
        f"sess_{SHA}",
        f"work_{SHA}",
        f"evt_{SHA}",
        f"tok_{SHA}",
        SHA,
        f"env_{SHA.upper()}",
        f"env_{SHA[:-1]}",
        f"env_{SHA}0",
        "env_",
        "env_..",
        "env_%20",
    ],
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", ""), ("POST", "/archive"), ("DELETE", ""), ("GET", "/work/stats")],
)
async def test_malformed_path_ids_are_404(
    client: httpx.AsyncClient, env: dict[str, Any], env_id: str, method: str, suffix: str
) -> None:
    body = {"name": "renamed"} if method == "POST" else None
    response = await client.request(method, f"/environments/{env_id}{suffix}", json=body)
    assert_error(response, 404, "not_found_error")
    await assert_unchanged(client, env)


async def test_the_session_id_of_a_real_session_is_404_on_environment_routes(
    client: httpx.AsyncClient,
) -> None:
    env = await create_environment(client)
    session = await client.post("/sessions", json={"environment_id": env["id"]})
    assert session.status_code == 201, session.text
    sid = session.json()["id"]
    assert_error(await client.get(f"/environments/{sid}"), 404, "not_found_error")
    assert_error(await client.delete(f"/environments/{sid}"), 404, "not_found_error")
    assert (await client.get(f"/sessions/{sid}")).status_code == 200
    assert (await client.get(f"/environments/{env['id']}")).json() == env
