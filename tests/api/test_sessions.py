"""spec/sessions.md (above "Events"): the Session object, its endpoints and its work item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.test_work_table import get_item, work_path
from tests.conftest import assert_error, create_environment, create_session
from workyard.clock import ManualClock, format_ts
from workyard.ids import new_id

ClientFor = Callable[[str | None], httpx.AsyncClient]


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


async def get_session(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await client.get(f"/sessions/{session_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def list_ids(client: httpx.AsyncClient, params: Any = None) -> list[str]:
    response = await client.get("/sessions", params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]]


async def work_call(
    client: httpx.AsyncClient, session: dict[str, Any], suffix: str, **kwargs: Any
) -> dict[str, Any]:
    response = await client.post(
        work_path(session["environment_id"], session["work_id"], suffix), **kwargs
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# create ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        "agent_0190a1b2c3d4",
        {"type": "agent", "id": "agent_x", "version": 1},
        {"name": "inline", "model": "m", "tools": [{"type": "bash"}], "n": 1.5, "ok": True},
        None,
    ],
    ids=["id", "reference", "inline", "null"],
)
async def test_create_session(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, agent: Any
) -> None:
    body = {"environment_id": env_id, "title": "Fix the build", "metadata": {"repo": "a/b"}}
    if agent is not None:
        body["agent"] = agent
    response = await client.post("/sessions", json=body)
    assert response.status_code == 201, response.text
    session = response.json()
    now = format_ts(clock.now())
    assert session["id"].startswith("sess_")
    assert session["work_id"].startswith("work_")
    assert session == {
        "id": session["id"],
        "type": "session",
        "environment_id": env_id,
        "agent": agent,
        "title": "Fix the build",
        "status": "rescheduling",
        "metadata": {"repo": "a/b"},
        "work_id": session["work_id"],
        "archived_at": None,
        "created_at": now,
        "updated_at": now,
    }
    assert await get_session(client, session["id"]) == session
    item = await get_item(client, env_id, session["work_id"])
    assert item["data"] == {"type": "session", "id": session["id"]}
    assert (item["state"], item["metadata"], item["created_at"]) == ("queued", {"repo": "a/b"}, now)


async def test_work_metadata_is_a_copy(client: httpx.AsyncClient, env_id: str) -> None:
    session = await create_session(client, env_id, metadata={"a": "1", "b": "2"})
    update = await client.post(
        f"/sessions/{session['id']}", json={"metadata": {"a": "x", "c": "3"}}
    )
    assert update.json()["metadata"] == {"a": "x", "b": "2", "c": "3"}
    item = await get_item(client, env_id, session["work_id"])
    assert item["metadata"] == {"a": "1", "b": "2"}
    await work_call(client, session, "", json={"metadata": {"w": "only-work"}})
    assert (await get_session(client, session["id"]))["metadata"] == {"a": "x", "b": "2", "c": "3"}


async def test_create_without_optional_fields(client: httpx.AsyncClient, env_id: str) -> None:
    session = await create_session(client, env_id)
    assert (session["agent"], session["title"], session["metadata"]) == (None, None, {})


async def test_environment_must_exist(client: httpx.AsyncClient) -> None:
    response = await client.post("/sessions", json={"environment_id": new_id("env")})
    body = response.json()
    assert (response.status_code, body["error"]["type"]) == (404, "not_found_error"), body
    assert body["error"].get("param", "environment_id") == "environment_id"
    assert await list_ids(client, {"include_archived": "true"}) == []


async def test_environment_must_be_self_hosted(client: httpx.AsyncClient) -> None:
    cloud = (await create_environment(client, "cloud"))["id"]
    response = await client.post("/sessions", json={"environment_id": cloud})
    assert_error(response, 400, "invalid_request_error", "environment_id")
    assert await list_ids(client, {"include_archived": "true"}) == []


async def test_environment_must_not_be_archived(client: httpx.AsyncClient, env_id: str) -> None:
    kept = await create_session(client, env_id)
    assert (await client.post(f"/environments/{env_id}/archive")).status_code == 200
    response = await client.post("/sessions", json={"environment_id": env_id})
    assert (response.status_code, response.json()["error"]["type"]) == (
        400,
        "invalid_request_error",
    )
    assert await list_ids(client, {"include_archived": "true"}) == [kept["id"]]
    listed = (await client.get(work_path(env_id))).json()["data"]
    assert [w["id"] for w in listed] == [kept["work_id"]]


# status follows the work item --------------------------------------------------------------


async def test_status_is_derived_from_the_work_item(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    session = await create_session(client, env_id)

    async def status() -> str:
        result: str = (await get_session(client, session["id"]))["status"]
        return result

    assert await status() == "rescheduling"
    await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": "w"})
    assert await status() == "rescheduling"  # delivered but not acked: still queued
    await work_call(client, session, "/ack", headers={"Worker-ID": "w"})
    assert await status() == "running"
    clock.advance(60)  # the ack lease expires: back to the queue
    assert await status() == "rescheduling"
    assert await list_ids(client, [("statuses[]", "rescheduling")]) == [session["id"]]
    await work_call(client, session, "/ack")
    await work_call(client, session, "/heartbeat")
    assert await status() == "running"
    await work_call(client, session, "/stop")
    assert (await get_item(client, env_id, session["work_id"]))["state"] == "stopping"
    assert await status() == "running"
    await work_call(client, session, "/stop")
    assert await status() == "idle"


# list --------------------------------------------------------------------------------------


async def test_list_order_and_environment_filter(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    other = (await create_environment(client))["id"]
    ids = []
    for env in (env_id, other, env_id, other, env_id):
        ids.append((await create_session(client, env))["id"])
        clock.advance(1)
    assert await list_ids(client) == ids[::-1]
    assert await list_ids(client, {"order": "desc"}) == ids[::-1]
    assert await list_ids(client, {"order": "asc"}) == ids
    assert await list_ids(client, {"environment_id": env_id}) == [ids[4], ids[2], ids[0]]
    assert await list_ids(client, {"environment_id": other, "order": "asc"}) == [ids[1], ids[3]]
    assert await list_ids(client, {"environment_id": new_id("env")}) == []


async def test_list_statuses_filter_is_repeatable(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    queued, running, idle = [await create_session(client, env_id) for _ in range(3)]
    await work_call(client, running, "/ack")
    await work_call(client, idle, "/stop")
    assert await list_ids(client, [("statuses[]", "running"), ("statuses[]", "idle")]) == [
        idle["id"],
        running["id"],
    ]
    assert await list_ids(client, [("statuses[]", "rescheduling")]) == [queued["id"]]
    assert await list_ids(client, [("statuses[]", "idle"), ("order", "asc")]) == [idle["id"]]
    all_three = [("statuses[]", s) for s in ("idle", "running", "rescheduling")]
    assert await list_ids(client, all_three) == [idle["id"], running["id"], queued["id"]]


async def test_list_created_at_filters(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    sessions = []
    for _ in range(3):
        sessions.append(await create_session(client, env_id))
        clock.advance(1)
    s1, s2, s3 = (s["id"] for s in sessions)
    t1, t2 = sessions[0]["created_at"], sessions[1]["created_at"]
    assert await list_ids(client, {"created_at[gt]": t2}) == [s3]
    assert await list_ids(client, {"created_at[gte]": t2}) == [s3, s2]
    assert await list_ids(client, {"created_at[lt]": t2}) == [s1]
    assert await list_ids(client, {"created_at[lte]": t2}) == [s2, s1]
    assert await list_ids(client, {"created_at[gt]": t1, "created_at[lt]": t2}) == []
    both = {"created_at[gte]": t1, "created_at[lte]": t2, "order": "asc"}
    assert await list_ids(client, both) == [s1, s2]
    offset_form = t2.replace("T08:00:01", "T10:00:01").replace("Z", "+02:00")
    assert await list_ids(client, {"created_at[gte]": offset_form}) == [s3, s2]


async def test_list_include_archived(client: httpx.AsyncClient, env_id: str) -> None:
    first, second = await create_session(client, env_id), await create_session(client, env_id)
    archived = await client.post(f"/sessions/{first['id']}/archive")
    assert archived.status_code == 200
    assert await list_ids(client) == [second["id"]]
    assert await list_ids(client, {"include_archived": "false"}) == [second["id"]]
    assert await list_ids(client, {"include_archived": "true"}) == [second["id"], first["id"]]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_list_pagination(client: httpx.AsyncClient, env_id: str, order: str) -> None:
    ids = [(await create_session(client, env_id))["id"] for _ in range(5)]
    expected = ids if order == "asc" else ids[::-1]
    seen: list[str] = []
    params: dict[str, Any] = {"order": order, "limit": 2}
    while True:
        body = (await client.get("/sessions", params=params)).json()
        seen += [s["id"] for s in body["data"]]
        assert body["first_id"] == body["data"][0]["id"]
        assert body["last_id"] == body["data"][-1]["id"]
        assert (body["next_page"] is not None) == body["has_more"]
        if not body["has_more"]:
            break
        params = {"order": order, "limit": 2, "page": body["next_page"]}
    assert seen == expected
    assert await list_ids(client, {"order": order, "after_id": expected[1]}) == expected[2:]
    assert await list_ids(client, {"order": order, "before_id": expected[3]}) == expected[:3]


# update ------------------------------------------------------------------------------------


async def test_update_title_and_metadata(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    session = await create_session(client, env_id, title="t", metadata={"a": "1", "b": "2"})
    clock.advance(3)
    response = await client.post(
        f"/sessions/{session['id']}", json={"title": None, "metadata": {"a": None, "c": "3"}}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated == {
        **session,
        "title": None,
        "metadata": {"b": "2", "c": "3"},
        "updated_at": format_ts(clock.now()),
    }
    assert await get_session(client, session["id"]) == updated
    retitled = await client.post(f"/sessions/{session['id']}", json={"title": "new"})
    assert retitled.json()["title"] == "new"
    assert retitled.json()["metadata"] == {"b": "2", "c": "3"}  # omitted metadata: unchanged
    untouched = await client.post(f"/sessions/{session['id']}", json={})
    assert (untouched.json()["title"], untouched.json()["metadata"]) == (
        "new",
        {"b": "2", "c": "3"},
    )


# archive -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "work_after", "status_after"),
    [
        ("queued", "stopped", "idle"),
        ("starting", "stopping", "running"),
        ("active", "stopping", "running"),
        # a stop already requested is left for the worker to confirm
        ("stopping", "stopping", "running"),
        ("stopped", "stopped", "idle"),
    ],
)
async def test_archive_stops_live_work_gracefully(
    client: httpx.AsyncClient,
    clock: ManualClock,
    env_id: str,
    state: str,
    work_after: str,
    status_after: str,
) -> None:
    session = await create_session(client, env_id)
    steps = {"starting": ["/ack"], "active": ["/ack", "/heartbeat"]}
    steps["stopping"] = [*steps["active"], "/stop"]
    steps["stopped"] = [*steps["stopping"], "/stop"]
    for suffix in steps.get(state, []):
        await work_call(client, session, suffix)
    before = await get_item(client, env_id, session["work_id"])
    clock.advance(2)
    now = format_ts(clock.now())
    response = await client.post(f"/sessions/{session['id']}/archive")
    assert response.status_code == 200, response.text
    archived = response.json()
    assert (archived["archived_at"], archived["status"]) == (now, status_after)
    assert archived["updated_at"] == now
    item = await get_item(client, env_id, session["work_id"])
    assert item["state"] == work_after
    if state in ("starting", "active"):
        assert item["stop_requested_at"] == now
    if state == "queued":
        assert item["stopped_at"] == now
        assert item["stop_requested_at"] == before["stop_requested_at"]
    if state in ("stopping", "stopped"):
        assert item == before
    clock.advance(2)
    again = await client.post(f"/sessions/{session['id']}/archive", json={})
    assert again.status_code == 200
    assert again.json() == archived  # idempotent: archived_at and updated_at unchanged
    assert await get_session(client, session["id"]) == archived


# delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["queued", "active", "stopping"])
async def test_delete_force_stops_work_and_keeps_it_listed(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    session = await create_session(client, env_id)
    for suffix in {"queued": [], "active": ["/ack", "/heartbeat"]}.get(
        state, ["/ack", "/heartbeat", "/stop"]
    ):
        await work_call(client, session, suffix)
    before = await get_item(client, env_id, session["work_id"])
    clock.advance(2)
    response = await client.delete(f"/sessions/{session['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == {"id": session["id"], "type": "session_deleted"}
    assert_error(await client.get(f"/sessions/{session['id']}"), 404, "not_found_error")
    assert_error(await client.delete(f"/sessions/{session['id']}"), 404, "not_found_error")
    assert_error(
        await client.post(f"/sessions/{session['id']}", json={"title": "x"}), 404, "not_found_error"
    )
    assert await list_ids(client, {"include_archived": "true"}) == []
    item = await get_item(client, env_id, session["work_id"])
    assert item["state"] == "stopped"
    assert item["stopped_at"] == format_ts(clock.now())
    assert item["stop_requested_at"] == before["stop_requested_at"]
    listed = (await client.get(work_path(env_id))).json()["data"]
    assert [w["id"] for w in listed] == [session["work_id"]]
