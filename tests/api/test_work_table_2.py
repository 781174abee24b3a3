"""spec/work.md §3–§4: every cell of the state × operation table (stop, metadata update)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_work_table import (
    STATES,
    assert_only_changed,
    build_item,
    get_item,
    work_path,
)
from tests.conftest import create_environment, create_session
from workyard.clock import ManualClock, format_ts

GRACEFUL: list[dict[str, Any]] = [
    {},  # no body at all
    {"json": {}},
    {"json": {"force": False}},
    {"content": b"", "headers": {"content-type": "application/json"}},
]


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


@pytest.mark.parametrize("body", GRACEFUL, ids=["no-body", "empty-object", "force-false", "empty"])
@pytest.mark.parametrize("state", STATES)
async def test_graceful_stop(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str, body: dict[str, Any]
) -> None:
    before = await build_item(client, clock, env_id, state)
    clock.advance(1)
    now = format_ts(clock.now())
    response = await client.post(work_path(env_id, before["id"], "/stop"), **body)
    assert response.status_code == 200, response.text
    if state == "queued":
        assert_only_changed(before, response.json(), state="stopped", stopped_at=now)
    elif state in ("starting", "active"):
        assert_only_changed(before, response.json(), state="stopping", stop_requested_at=now)
    elif state == "stopping":
        # the worker's confirmation; stop_requested_at keeps the first request's time
        assert before["stop_requested_at"] is not None
        assert_only_changed(before, response.json(), state="stopped", stopped_at=now)
    else:
        assert response.json() == before
    assert await get_item(client, env_id, before["id"]) == response.json()


@pytest.mark.parametrize("state", STATES)
async def test_forced_stop(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    clock.advance(1)
    now = format_ts(clock.now())
    response = await client.post(work_path(env_id, before["id"], "/stop"), json={"force": True})
    assert response.status_code == 200, response.text
    if state == "stopped":
        assert response.json() == before
    else:
        # stop_requested_at is unchanged: null unless a graceful stop came first (stopping)
        assert (before["stop_requested_at"] is not None) == (state == "stopping")
        assert_only_changed(before, response.json(), state="stopped", stopped_at=now)
    assert await get_item(client, env_id, before["id"]) == response.json()


async def test_forced_stop_after_graceful_keeps_stop_requested_at(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    item = await build_item(client, clock, env_id, "active")
    clock.advance(3)
    requested = format_ts(clock.now())
    graceful = await client.post(work_path(env_id, item["id"], "/stop"))
    assert graceful.json()["stop_requested_at"] == requested
    clock.advance(7)
    forced = await client.post(work_path(env_id, item["id"], "/stop"), json={"force": True})
    assert forced.json()["state"] == "stopped"
    assert forced.json()["stop_requested_at"] == requested
    assert forced.json()["stopped_at"] == format_ts(clock.now())


@pytest.mark.parametrize("state", ["starting", "active", "stopping"])
async def test_stopped_item_holds_no_lease(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    item = await build_item(client, clock, env_id, state)
    stopped = await client.post(work_path(env_id, item["id"], "/stop"), json={"force": True})
    assert stopped.json()["state"] == "stopped"
    clock.advance(700)  # past any lease: a stopped item never goes back to the queue
    after = await get_item(client, env_id, item["id"])
    assert after == stopped.json()
    poll = await client.get(work_path(env_id, "", "/poll"), params={"reclaim_older_than_ms": 0})
    assert poll.json() is None


@pytest.mark.parametrize("state", STATES)
async def test_metadata_update_merges_in_every_state(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    assert before["metadata"] == {"k": "v"}
    clock.advance(1)
    response = await client.post(
        work_path(env_id, before["id"]),
        json={"metadata": {"added": "x", "k": None, "absent": None, "ünï": " spaced "}},
    )
    assert response.status_code == 200, response.text
    assert_only_changed(before, response.json(), metadata={"added": "x", "ünï": " spaced "})
    assert await get_item(client, env_id, before["id"]) == response.json()


@pytest.mark.parametrize("body", [{}, {"json": {}}, {"json": {"other": 1}}])
async def test_metadata_update_without_metadata_returns_item_unchanged(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, body: dict[str, Any]
) -> None:
    before = await build_item(client, clock, env_id, "active")
    clock.advance(1)
    response = await client.post(work_path(env_id, before["id"]), **body)
    assert response.status_code == 200, response.text
    assert response.json() == before


async def test_metadata_limits_apply_to_the_result_of_the_patch(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    item = await build_item(client, clock, env_id, "queued")
    full = {f"key{i}": "v" for i in range(15)}  # + "k" = 16 keys
    assert (await client.post(work_path(env_id, item["id"]), json={"metadata": full})).is_success
    # replacing one key by another keeps 16: allowed
    swap = await client.post(work_path(env_id, item["id"]), json={"metadata": {"k": None, "z": ""}})
    assert swap.status_code == 200, swap.text
    assert len(swap.json()["metadata"]) == 16
    assert swap.json()["metadata"]["z"] == ""


async def test_work_item_shape(client: httpx.AsyncClient, clock: ManualClock, env_id: str) -> None:
    session = await create_session(client, env_id, metadata={"a": "b"})
    item = await get_item(client, env_id, session["work_id"])
    assert item == {
        "id": session["work_id"],
        "type": "work",
        "environment_id": env_id,
        "data": {"type": "session", "id": session["id"]},
        "state": "queued",
        "created_at": format_ts(clock.now()),
        "acknowledged_at": None,
        "started_at": None,
        "latest_heartbeat_at": None,
        "stop_requested_at": None,
        "stopped_at": None,
        "metadata": {"a": "b"},
        "secret": None,
    }


@pytest.mark.parametrize("body", [{"json": {}}, {"json": {"unknown": [1, 2]}}, {}])
async def test_ack_body_is_optional_and_unknown_fields_are_ignored(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, body: dict[str, Any]
) -> None:
    item = await build_item(client, clock, env_id, "queued")
    response = await client.post(work_path(env_id, item["id"], "/ack"), **body)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "starting"


async def test_archived_environment_keeps_its_work_flowing(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    active = await build_item(client, clock, env_id, "active")  # (its poll takes the oldest)
    queued = await build_item(client, clock, env_id, "queued")
    assert (await client.post(f"/environments/{env_id}/archive")).status_code == 200
    polled = await client.get(work_path(env_id, "", "/poll"))
    assert polled.json()["id"] == queued["id"]
    acked = await client.post(work_path(env_id, queued["id"], "/ack"))
    assert acked.json()["state"] == "starting"
    beat = await client.post(
        work_path(env_id, active["id"], "/heartbeat"),
        params={"expected_last_heartbeat": active["latest_heartbeat_at"]},
    )
    assert beat.status_code == 200, beat.text
    for _ in range(2):
        stop = await client.post(work_path(env_id, active["id"], "/stop"))
        assert stop.status_code == 200
    assert (await get_item(client, env_id, active["id"]))["state"] == "stopped"
    stats = await client.get(work_path(env_id, "", "/stats"))
    assert stats.status_code == 200
