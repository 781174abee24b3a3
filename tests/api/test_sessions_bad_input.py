"""spec/sessions.md: invalid input and forbidden writes on the session routes.

Each rejection creates or changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.test_sessions import get_session, list_ids
from tests.api.test_work_table import work_path
from tests.conftest import TokenFactory, assert_error, create_environment, create_session
from workyard.ids import new_id

ClientFor = Callable[[str | None], httpx.AsyncClient]


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


async def assert_nothing_created(client: httpx.AsyncClient, env_id: str) -> None:
    sessions = await client.get("/sessions", params={"include_archived": "true"})
    assert sessions.json()["data"] == []
    assert (await client.get(work_path(env_id))).json()["data"] == []


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"environment_id": None}, "environment_id"),
        ({"environment_id": 5}, "environment_id"),
        ({"environment_id": ["env"]}, "environment_id"),
        ({"title": 5}, "title"),
        ({"title": {"text": "t"}}, "title"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"metadata": {"a": None}}, "metadata"),
        ({"metadata": {"a": True}}, "metadata"),
        ({"metadata": [["a", "b"]]}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"agent": 5}, "agent"),
        ({"agent": True}, "agent"),
        ({"agent": ["agent_x"]}, "agent"),
    ],
)
async def test_create_rejects_invalid_fields(
    client: httpx.AsyncClient, env_id: str, fields: dict[str, Any], param: str
) -> None:
    body = {"environment_id": env_id, **fields}
    if fields.get("environment_id", "") is None:
        del body["environment_id"]  # missing entirely
    response = await client.post("/sessions", json=body)
    assert_error(response, 400, "invalid_request_error", param)
    await assert_nothing_created(client, env_id)


@pytest.mark.parametrize(
    "environment_id",
    ["sess_{hex}", "env_{HEX}", "env_short", "{hex}", ""],
)
async def test_create_with_malformed_environment_id(
    client: httpx.AsyncClient, env_id: str, environment_id: str
) -> None:
    hex_part = env_id.removeprefix("env_")
    value = environment_id.format(hex=hex_part, HEX=hex_part.upper())
    response = await client.post("/sessions", json={"environment_id": value})
    body = response.json()
    # an id that cannot exist names an environment that does not exist: 404, as for an unknown one
    assert (response.status_code, body["error"]["type"]) == (404, "not_found_error"), body
    assert body["error"].get("param", "environment_id") == "environment_id"
    await assert_nothing_created(client, env_id)


@pytest.mark.parametrize(
    "content",
    [b"", b"{oops", b"[]", b'"session"', b"null"],
    ids=["empty", "bad", "list", "str", "null"],
)
async def test_create_rejects_bad_body(
    client: httpx.AsyncClient, env_id: str, content: bytes
) -> None:
    response = await client.post(
        "/sessions", content=content, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request_error")
    await assert_nothing_created(client, env_id)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"title": 5}, "title"),
        ({"title": ["t"]}, "title"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"metadata": {"a": {"b": "c"}}}, "metadata"),
        ({"metadata": {f"n{i}": "v" for i in range(16)}}, "metadata"),  # 16 + the existing one
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ],
)
async def test_update_rejects_invalid_fields(
    client: httpx.AsyncClient, env_id: str, body: dict[str, Any], param: str
) -> None:
    session = await create_session(client, env_id, title="t", metadata={"a": "b"})
    response = await client.post(f"/sessions/{session['id']}", json=body)
    assert_error(response, 400, "invalid_request_error", param)
    assert (await client.get(f"/sessions/{session['id']}")).json() == session


async def test_update_rejects_invalid_json(client: httpx.AsyncClient, env_id: str) -> None:
    session = await create_session(client, env_id, title="t")
    response = await client.post(f"/sessions/{session['id']}", content=b"{title")
    body = assert_error(response, 400, "invalid_request_error")
    assert body["error"]["message"] == "Request body must be valid JSON."
    assert (await client.get(f"/sessions/{session['id']}")).json() == session


async def test_bad_body_before_unknown_session(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/sessions/{new_id('sess')}", json={"title": 5})
    assert_error(response, 400, "invalid_request_error", "title")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("order", "sideways"),
        ("order", "DESC"),
        ("statuses[]", "bogus"),
        ("statuses[]", "queued"),
        ("include_archived", "yes"),
        ("include_archived", "1"),
        ("created_at[gt]", "yesterday"),
        ("created_at[gte]", "2026-07-01"),
        ("created_at[lt]", "1751356800"),
        ("created_at[lte]", "2026-07-01T08:00:00"),
        ("limit", "0"),
        ("limit", "-3"),
        ("limit", "ten"),
        ("page", "not-a-cursor"),
    ],
)
async def test_list_rejects_bad_query(
    client: httpx.AsyncClient, env_id: str, name: str, value: str
) -> None:
    await create_session(client, env_id)
    response = await client.get("/sessions", params={name: value})
    assert_error(response, 400, "invalid_request_error", name)


async def test_list_rejects_two_cursors(client: httpx.AsyncClient, env_id: str) -> None:
    session = await create_session(client, env_id)
    response = await client.get(
        "/sessions", params={"after_id": session["id"], "before_id": session["id"]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", ""), ("POST", "/archive"), ("DELETE", "")],
)
@pytest.mark.parametrize("kind", ["unknown", "work-prefix", "uppercase", "garbage"])
async def test_unknown_or_malformed_session_is_not_found(
    client: httpx.AsyncClient, env_id: str, method: str, suffix: str, kind: str
) -> None:
    session = await create_session(client, env_id)
    hex_part = session["id"].removeprefix("sess_")
    session_id = {
        "unknown": new_id("sess"),
        "work-prefix": f"work_{hex_part}",
        "uppercase": f"sess_{hex_part.upper()}",
        "garbage": "sess_..",
    }[kind]
    response = await client.request(method, f"/sessions/{session_id}{suffix}")
    assert_error(response, 404, "not_found_error")
    assert (await client.get(f"/sessions/{session['id']}")).json() == session


# tokens: what each kind may do -------------------------------------------------------------------


async def test_worker_token_reads_but_does_not_write(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory, env_id: str
) -> None:
    session = await create_session(client, env_id, title="t")
    for token in (await make_token("worker"), await make_token("worker", (env_id,))):
        async with client_for(token) as worker:
            assert (await worker.get(f"/sessions/{session['id']}")).json() == session
            assert [s["id"] for s in (await worker.get("/sessions")).json()["data"]] == [
                session["id"]
            ]
            create = await worker.post("/sessions", json={"environment_id": env_id})
            assert_error(create, 403, "permission_error")
            update = await worker.post(f"/sessions/{session['id']}", json={"title": "x"})
            assert_error(update, 403, "permission_error")
            archive = await worker.post(f"/sessions/{session['id']}/archive")
            assert_error(archive, 403, "permission_error")
            delete = await worker.delete(f"/sessions/{session['id']}")
            assert_error(delete, 403, "permission_error")
    assert await get_session(client, session["id"]) == session
    assert await list_ids(client) == [session["id"]]


async def test_worker_token_of_another_environment_cannot_read(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory, env_id: str
) -> None:
    session = await create_session(client, env_id)
    other = (await create_environment(client))["id"]
    async with client_for(await make_token("worker", (other,))) as worker:
        response = await worker.get(f"/sessions/{session['id']}")
        assert_error(response, 403, "permission_error")
        listed = await worker.get("/sessions")
        assert all(s["environment_id"] == other for s in listed.json()["data"])


async def test_member_token_may_write(
    client_for: ClientFor, make_token: TokenFactory, env_id: str
) -> None:
    async with client_for(await make_token("member")) as member:
        session = await create_session(member, env_id)
        update = await member.post(f"/sessions/{session['id']}", json={"title": "x"})
        assert update.status_code == 200
        assert (await member.delete(f"/sessions/{session['id']}")).status_code == 200


async def test_worker_token_of_several_environments_lists_their_sessions(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory, env_id: str
) -> None:
    second = (await create_environment(client))["id"]
    third = (await create_environment(client))["id"]
    mine = [(await create_session(client, env))["id"] for env in (env_id, second)]
    await create_session(client, third)
    async with client_for(await make_token("worker", (env_id, second))) as worker:
        response = await worker.get("/sessions", params={"order": "asc"})
        assert response.status_code == 200, response.text
        assert [s["id"] for s in response.json()["data"]] == mine
