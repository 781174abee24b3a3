"""spec/environments.md: create, retrieve, update, archive, delete; config validation; metadata."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.conftest import assert_error, create_environment, create_session
from workyard.clock import ManualClock, format_ts
from workyard.ids import is_id

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
FIELDS = {
    "id",
    "type",
    "name",
    "description",
    "config",
    "metadata",
    "archived_at",
    "created_at",
    "updated_at",
}
CLOUD_CONFIG: dict[str, Any] = {
    "type": "cloud",
    "networking": {
        "type": "allowed_hosts",
        "allowed_hosts": ["pypi.org", "github.com"],
        "allow_package_managers": True,
        "allow_mcp_servers": False,
    },
    "packages": {"apt": ["git"], "pip": ["httpx==0.28.1"], "npm": []},
    "setup_script": "#!/bin/sh\necho ready\n",
}


def assert_environment_shape(env: dict[str, Any]) -> None:
    assert set(env) == FIELDS
    assert env["type"] == "environment"
    assert is_id("env", env["id"]), env["id"]
    assert TS_RE.match(env["created_at"]) and TS_RE.match(env["updated_at"]), env
    assert env["archived_at"] is None or TS_RE.match(env["archived_at"])


async def _get(client: httpx.AsyncClient, env_id: str) -> dict[str, Any]:
    response = await client.get(f"/environments/{env_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- create ------------------------------------------------------------------------------------


async def test_create_with_defaults(client: httpx.AsyncClient, clock: ManualClock) -> None:
    response = await client.post("/environments", json={"name": "only a name"})
    assert response.status_code == 201, response.text
    env = response.json()
    assert_environment_shape(env)
    assert env["name"] == "only a name"
    assert env["description"] == ""
    assert env["config"] == {"type": "cloud"}
    assert env["metadata"] == {}
    assert env["archived_at"] is None
    assert env["created_at"] == env["updated_at"] == format_ts(clock.now())
    assert await _get(client, env["id"]) == env


async def test_create_self_hosted_with_everything(client: httpx.AsyncClient) -> None:
    body = {
        "name": "gpu box",
        "description": "the one under the desk",
        "config": {"type": "self_hosted"},
        "metadata": {"team": "ml", "ключ": "значение ✓"},
    }
    env = (await client.post("/environments", json=body)).json()
    assert_environment_shape(env)
    assert {k: env[k] for k in body} == body
    assert await _get(client, env["id"]) == env


async def test_description_null_means_empty(client: httpx.AsyncClient) -> None:
    env = await create_environment(client, description=None)
    assert env["description"] == ""


@pytest.mark.parametrize("config", [{"type": "managed"}, {"type": "cloud"}])
async def test_managed_is_an_alias_of_cloud(
    client: httpx.AsyncClient, config: dict[str, Any]
) -> None:
    env = (await client.post("/environments", json={"name": "m", "config": config})).json()
    assert env["config"] == {"type": "cloud"}
    updated = await client.post(f"/environments/{env['id']}", json={"config": {"type": "managed"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["config"] == {"type": "cloud"}


async def test_full_cloud_config_is_stored_and_returned(client: httpx.AsyncClient) -> None:
    response = await client.post("/environments", json={"name": "c", "config": CLOUD_CONFIG})
    assert response.status_code == 201, response.text
    assert response.json()["config"] == CLOUD_CONFIG
    assert (await _get(client, response.json()["id"]))["config"] == CLOUD_CONFIG


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("networking", {"type": "unrestricted"}),
        ("packages", {"pip": ["x"]}),
        ("setup_script", "echo hi"),
    ],
)
async def test_self_hosted_refuses_cloud_fields(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    config = {"type": "self_hosted", field: value}
    response = await client.post("/environments", json={"name": "s", "config": config})
    assert_error(response, 400, "invalid_request_error", f"config.{field}")
    assert (await client.get("/environments")).json()["data"] == []


@pytest.mark.parametrize(
    ("config", "param"),
    [
        ({"type": "cloud", "networking": "limited"}, "config.networking"),
        ({"type": "cloud", "networking": ["limited"]}, "config.networking"),
        ({"type": "cloud", "networking": {}}, "config.networking.type"),
        ({"type": "cloud", "networking": {"type": "open"}}, "config.networking.type"),
        (
            {"type": "cloud", "networking": {"type": "allowed_hosts"}},
            "config.networking.allowed_hosts",
        ),
        (
            {"type": "cloud", "networking": {"type": "allowed_hosts", "allowed_hosts": []}},
            "config.networking.allowed_hosts",
        ),
        (
            {"type": "cloud", "networking": {"type": "limited", "allowed_hosts": "a.com"}},
            "config.networking.allowed_hosts",
        ),
        (
            {"type": "cloud", "networking": {"type": "limited", "allowed_hosts": [1]}},
            "config.networking.allowed_hosts",
        ),
        (
            {"type": "cloud", "networking": {"type": "limited", "allow_mcp_servers": "yes"}},
            "config.networking.allow_mcp_servers",
        ),
        (
            {"type": "cloud", "networking": {"type": "limited", "allow_package_managers": 1}},
            "config.networking.allow_package_managers",
        ),
        ({"type": "cloud", "packages": ["git"]}, "config.packages"),
        ({"type": "cloud", "packages": {"brew": ["git"]}}, "config.packages"),
        ({"type": "cloud", "packages": {"pip": "httpx"}}, "config.packages.pip"),
        ({"type": "cloud", "packages": {"apt": [1]}}, "config.packages.apt"),
        ({"type": "cloud", "setup_script": 5}, "config.setup_script"),
        ({"type": "cloud", "setup_script": "x" * (64 * 1024 + 1)}, "config.setup_script"),
        ({}, "config"),
        (None, "config"),
        ([], "config"),
        ("cloud", "config"),
        ({"type": "nope"}, "config.type"),
        ({"networking": {"type": "limited"}}, "config.type"),
    ],
)
async def test_invalid_configs_are_400_naming_the_field(
    client: httpx.AsyncClient, config: Any, param: str
) -> None:
    response = await client.post("/environments", json={"name": "bad", "config": config})
    assert_error(response, 400, "invalid_request_error", param)
    assert (await client.get("/environments")).json()["data"] == []


async def test_setup_script_of_exactly_64_kib_is_accepted(client: httpx.AsyncClient) -> None:
    config = {"type": "cloud", "setup_script": "x" * (64 * 1024)}
    response = await client.post("/environments", json={"name": "big", "config": config})
    assert response.status_code == 201, response.text


# --- update ------------------------------------------------------------------------------------


async def test_update_changes_only_the_fields_sent(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = await create_environment(
        client, "cloud", description="d", metadata={"a": "1"}, config=CLOUD_CONFIG
    )
    clock.advance(2.5)
    response = await client.post(f"/environments/{env['id']}", json={"name": "renamed"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated == {**env, "name": "renamed", "updated_at": format_ts(clock.now())}
    assert updated["updated_at"] != env["updated_at"]
    assert await _get(client, env["id"]) == updated


@pytest.mark.parametrize("body", [None, b"", b"{}"])
async def test_empty_update_changes_nothing_but_updated_at(
    client: httpx.AsyncClient, clock: ManualClock, body: bytes | None
) -> None:
    env = await create_environment(client, metadata={"a": "1"})
    clock.advance(1)
    response = await client.post(f"/environments/{env['id']}", content=body)
    assert response.status_code == 200, response.text
    assert response.json() == {**env, "updated_at": format_ts(clock.now())}


async def test_update_metadata_is_a_merge_patch(client: httpx.AsyncClient) -> None:
    env = await create_environment(client, metadata={"keep": "k", "drop": "d", "change": "c"})
    patch = {"drop": None, "change": "C", "new": "n \u2603 ", "absent": None}
    response = await client.post(f"/environments/{env['id']}", json={"metadata": patch})
    assert response.status_code == 200, response.text
    expected = {"keep": "k", "change": "C", "new": "n \u2603 "}
    assert response.json()["metadata"] == expected
    assert (await _get(client, env["id"]))["metadata"] == expected


async def test_update_config_replaces_it_whole(client: httpx.AsyncClient) -> None:
    env = await create_environment(client, "cloud", config=CLOUD_CONFIG)
    new_config = {"type": "cloud", "packages": {"npm": ["left-pad"]}}
    response = await client.post(f"/environments/{env['id']}", json={"config": new_config})
    assert response.status_code == 200, response.text
    assert response.json()["config"] == new_config
    assert (await _get(client, env["id"]))["config"] == new_config


@pytest.mark.parametrize(
    ("kind", "other"),
    [("self_hosted", "cloud"), ("cloud", "self_hosted"), ("self_hosted", "managed")],
)
async def test_config_type_cannot_change(client: httpx.AsyncClient, kind: str, other: str) -> None:
    env = await create_environment(client, kind)
    response = await client.post(f"/environments/{env['id']}", json={"config": {"type": other}})
    assert_error(response, 400, "invalid_request_error", "config.type")
    assert await _get(client, env["id"]) == env


# --- archive, retrieve -------------------------------------------------------------------------


async def test_archive_is_idempotent_and_archived_ones_stay_readable(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = await create_environment(client)
    clock.advance(3)
    first = await client.post(f"/environments/{env['id']}/archive")
    assert first.status_code == 200, first.text
    archived = first.json()
    assert archived == {
        **env,
        "archived_at": format_ts(clock.now()),
        "updated_at": format_ts(clock.now()),
    }
    clock.advance(3)
    second = await client.post(f"/environments/{env['id']}/archive", json={})
    assert second.status_code == 200
    assert second.json() == archived
    assert await _get(client, env["id"]) == archived


async def test_archived_environment_is_still_updatable(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = await create_environment(client)
    archived = (await client.post(f"/environments/{env['id']}/archive")).json()
    clock.advance(1)
    response = await client.post(f"/environments/{env['id']}", json={"description": "old"})
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "old"
    assert response.json()["archived_at"] == archived["archived_at"]


# --- delete ------------------------------------------------------------------------------------


async def test_delete_then_404_everywhere(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    keep = await create_environment(client, name="keep")
    path = f"/environments/{env['id']}"
    response = await client.delete(path)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": env["id"], "type": "environment_deleted"}
    assert_error(await client.get(path), 404, "not_found_error")
    assert_error(await client.post(path, json={"name": "x"}), 404, "not_found_error")
    assert_error(await client.post(f"{path}/archive"), 404, "not_found_error")
    assert_error(await client.delete(path), 404, "not_found_error")
    listed = (await client.get("/environments", params={"include_archived": "true"})).json()
    assert [e["id"] for e in listed["data"]] == [keep["id"]]


async def test_delete_is_refused_while_a_session_references_it(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    path = f"/environments/{env['id']}"
    session = await create_session(client, env["id"])
    refused = await client.delete(path)
    body = assert_error(refused, 409, "invalid_request_error")
    assert "archive" in body["error"]["message"].lower()
    assert await _get(client, env["id"]) == env

    gone = await client.delete(f"/sessions/{session['id']}")
    assert gone.status_code == 200, gone.text
    still = await client.delete(path)
    assert "archive" in assert_error(still, 409, "invalid_request_error")["error"]["message"]
    assert await _get(client, env["id"]) == env
    assert (await client.post(f"{path}/archive")).status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", ""), ("POST", "/archive"), ("DELETE", "")]
)
async def test_unknown_environment_is_404(
    client: httpx.AsyncClient, method: str, suffix: str
) -> None:
    await create_environment(client)
    path = f"/environments/env_{'0' * 32}{suffix}"
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert_error(response, 404, "not_found_error")


# --- metadata on the wire ----------------------------------------------------------------------


async def test_metadata_is_stored_exactly_as_sent(client: httpx.AsyncClient) -> None:
    metadata = {
        " padded ": "  both sides  ",
        "caf\u00e9": "nfc",
        "cafe\u0301": "nfd (a different key)",
        "emoji \U0001f680": "\U0001f9ea\u200d",
        "\u4e2d\u6587": "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        "empty": "",
        'quote"and\\back': "tab\there\nnewline",
    }
    env = await create_environment(client, metadata=metadata)
    assert env["metadata"] == metadata
    assert (await _get(client, env["id"]))["metadata"] == metadata
    listed = (await client.get("/environments")).json()["data"][0]
    assert listed["metadata"] == metadata


@pytest.mark.parametrize("value", [5, 1.5, True, ["x"], {"x": "y"}])
async def test_metadata_errors_name_the_offending_key(
    client: httpx.AsyncClient, value: Any
) -> None:
    body = {"name": "m", "metadata": {"fine": "ok", "offending_key": value}}
    created = await client.post("/environments", json=body)
    error = assert_error(created, 400, "invalid_request_error", "metadata")["error"]
    assert "offending_key" in error["message"]
    env = await create_environment(client)
    patch = {"metadata": {"offending_key": value}}
    updated = await client.post(f"/environments/{env['id']}", json=patch)
    error = assert_error(updated, 400, "invalid_request_error", "metadata")["error"]
    assert "offending_key" in error["message"]
    assert await _get(client, env["id"]) == env


async def test_metadata_limits_apply_to_the_patched_result(client: httpx.AsyncClient) -> None:
    full = {f"k{i:02d}": "v" for i in range(16)}
    env = await create_environment(client, metadata=full)
    path = f"/environments/{env['id']}"
    over = await client.post(path, json={"metadata": {"k16": "v"}})
    assert_error(over, 400, "invalid_request_error", "metadata")
    swapped = await client.post(path, json={"metadata": {"k00": None, "k16": "v"}})
    assert swapped.status_code == 200, swapped.text
    assert len(swapped.json()["metadata"]) == 16
    assert "k00" not in swapped.json()["metadata"]


# --- races -------------------------------------------------------------------------------------


async def test_racing_deletes_succeed_exactly_once(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    responses = await asyncio.gather(
        *[client.delete(f"/environments/{env['id']}") for _ in range(10)]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [404] * 9
    for response in responses:
        if response.status_code == 404:
            assert_error(response, 404, "not_found_error")


async def test_racing_archives_all_return_the_same_object(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = await create_environment(client)
    clock.advance(1)
    responses = await asyncio.gather(
        *[client.post(f"/environments/{env['id']}/archive") for _ in range(10)]
    )
    assert {r.status_code for r in responses} == {200}
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["archived_at"] == format_ts(clock.now())


async def test_racing_metadata_patches_lose_no_update(client: httpx.AsyncClient) -> None:
    env = await create_environment(client, metadata={"base": "b"})
    path = f"/environments/{env['id']}"
    patches = [{"metadata": {f"k{i}": str(i)}} for i in range(12)]
    responses = await asyncio.gather(*[client.post(path, json=patch) for patch in patches])
    assert {r.status_code for r in responses} == {200}
    expected = {"base": "b", **{f"k{i}": str(i) for i in range(12)}}
    assert (await _get(client, env["id"]))["metadata"] == expected
