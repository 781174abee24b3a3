"""spec/work.md §5.1, §5.4, §5.8: queue stats, long polls and the work list."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.api.test_work_table import build_item, get_item, work_path
from tests.conftest import create_environment, create_session
from workyard.clock import ManualClock

A = "worker-a-4c1d"
B = "worker-b-9e27"
US = 0.000001


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


async def poll(
    client: httpx.AsyncClient, env_id: str, worker: str | None = None, **params: Any
) -> Any:
    headers = {"Worker-ID": worker} if worker else {}
    response = await client.get(work_path(env_id, "", "/poll"), params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def stats(client: httpx.AsyncClient, env_id: str) -> dict[str, Any]:
    response = await client.get(work_path(env_id, "", "/stats"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def counts(s: dict[str, Any]) -> tuple[int, int, int]:
    return s["depth"], s["pending"], s["workers_polling"]


# stats -------------------------------------------------------------------------------------


async def test_stats_track_depth_pending_oldest_and_pollers(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    empty = await stats(client, env_id)
    assert empty == {
        "type": "work_queue_stats",
        "depth": 0,
        "pending": 0,
        "oldest_queued_at": None,
        "workers_polling": 0,
    }
    sessions = []
    for _ in range(3):
        sessions.append(await create_session(client, env_id))
        clock.advance(1)
    created = [(await get_item(client, env_id, s["work_id"]))["created_at"] for s in sessions]
    first = await stats(client, env_id)
    assert counts(first) == (3, 0, 0)
    assert first["oldest_queued_at"] == created[0]
    assert (await poll(client, env_id))["id"] == sessions[0]["work_id"]  # no Worker-ID: not counted
    assert counts(await stats(client, env_id)) == (2, 1, 0)
    assert (await poll(client, env_id, A))["id"] == sessions[1]["work_id"]
    assert counts(await stats(client, env_id)) == (1, 2, 1)
    assert (await poll(client, env_id, A))["id"] == sessions[2]["work_id"]
    assert await poll(client, env_id, B) is None
    assert counts(await stats(client, env_id)) == (0, 3, 2)
    # an ack takes the item out of pending and out of the queue
    acked = await client.post(work_path(env_id, sessions[0]["work_id"], "/ack"))
    assert acked.status_code == 200
    after_ack = await stats(client, env_id)
    assert counts(after_ack) == (0, 2, 2)
    assert after_ack["oldest_queued_at"] == created[1]  # pending items are still queued
    clock.advance(5 - US)
    assert counts(await stats(client, env_id)) == (0, 2, 2)
    clock.advance(US)  # the deliveries are 5 s old: deliverable again, no longer pending
    assert counts(await stats(client, env_id)) == (2, 0, 2)
    clock.advance(24)  # 29 s since the last polls
    assert (await stats(client, env_id))["workers_polling"] == 2
    clock.advance(2)  # 31 s
    assert (await stats(client, env_id))["workers_polling"] == 0
    assert (await poll(client, env_id, B))["id"] == sessions[1]["work_id"]
    assert counts(await stats(client, env_id)) == (1, 1, 1)
    for s in sessions:
        await client.post(work_path(env_id, s["work_id"], "/stop"), json={"force": True})
    done = await stats(client, env_id)
    assert (done["depth"], done["pending"], done["oldest_queued_at"]) == (0, 0, None)


async def test_stats_count_expired_leases_as_depth(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    session = await create_session(client, env_id)
    await client.post(work_path(env_id, session["work_id"], "/ack"))
    assert counts(await stats(client, env_id)) == (0, 0, 0)
    clock.advance(60)
    after = await stats(client, env_id)
    assert counts(after) == (1, 0, 0)
    assert after["oldest_queued_at"] == session["created_at"]


async def test_stats_are_per_environment(client: httpx.AsyncClient, env_id: str) -> None:
    other = (await create_environment(client))["id"]
    await create_session(client, other)
    await poll(client, other, A)
    assert counts(await stats(client, env_id)) == (0, 0, 0)
    assert counts(await stats(client, other)) == (0, 1, 1)


# long polls --------------------------------------------------------------------------------


async def wait_for_pollers(client: httpx.AsyncClient, env_id: str, n: int) -> None:
    """Yield to the event loop until ``n`` workers are registered as polling (no sleeping)."""
    for _ in range(1000):
        if (await stats(client, env_id))["workers_polling"] >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError("the blocked poll never started")


def start_poll(client: httpx.AsyncClient, env_id: str, worker: str, **params: Any) -> Any:
    return asyncio.create_task(
        client.get(work_path(env_id, "", "/poll"), params=params, headers={"Worker-ID": worker})
    )


def assert_woken(poll_sent: float, triggered: float, answered: float) -> None:
    """The poll answered before its own 999 ms ran out, so the trigger woke it.

    A poll that times out re-checks once and would deliver the item too, so only the time tells
    the two apart. When the machine was so slow that the trigger itself came within 0.3 s of the
    poll's end, the timing cannot tell them apart and is not judged.
    """
    deadline = poll_sent + 0.999
    if deadline - triggered >= 0.3:
        assert answered < deadline - 0.03, f"answered {answered - triggered:.3f}s after the trigger"


async def test_blocked_poll_returns_item_created_while_waiting(
    client: httpx.AsyncClient, env_id: str
) -> None:
    sent = time.monotonic()
    task = start_poll(client, env_id, A, block_ms=999)
    await wait_for_pollers(client, env_id, 1)
    assert not task.done()
    session = await create_session(client, env_id)
    triggered = time.monotonic()
    response = await task
    assert_woken(sent, triggered, time.monotonic())  # by the new item, not by its own timeout
    assert response.status_code == 200
    assert response.json() is not None
    assert response.json()["id"] == session["work_id"]


async def test_blocked_poll_wakes_when_a_lease_expires(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    session = await create_session(client, env_id)
    await poll(client, env_id, A)
    assert (await client.post(work_path(env_id, session["work_id"], "/ack"))).status_code == 200
    sent = time.monotonic()
    task = start_poll(client, env_id, B, block_ms=999)
    await wait_for_pollers(client, env_id, 2)
    assert not task.done()
    triggered = time.monotonic()
    clock.advance(60)
    response = await task
    assert_woken(sent, triggered, time.monotonic())  # by the expiry, not by its own timeout
    assert response.json() is not None
    assert response.json()["id"] == session["work_id"]
    assert response.json()["state"] == "queued"


async def test_blocked_poll_wakes_when_the_delivery_window_elapses(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    session = await create_session(client, env_id)
    assert (await poll(client, env_id, A))["id"] == session["work_id"]
    sent = time.monotonic()
    task = start_poll(client, env_id, B, block_ms=999)
    await wait_for_pollers(client, env_id, 2)
    assert not task.done()
    triggered = time.monotonic()
    clock.advance(5)
    response = await task
    assert_woken(sent, triggered, time.monotonic())  # by the elapsed window
    assert response.json() is not None
    assert response.json()["id"] == session["work_id"]


async def test_blocked_poll_does_not_take_an_item_inside_its_window(
    client: httpx.AsyncClient, env_id: str
) -> None:
    await create_session(client, env_id)
    assert await poll(client, env_id, A) is not None
    response = await client.get(
        work_path(env_id, "", "/poll"), params={"block_ms": 50}, headers={"Worker-ID": B}
    )
    assert response.status_code == 200
    assert response.json() is None


async def test_blocked_poll_ignores_other_environments(
    client: httpx.AsyncClient, env_id: str
) -> None:
    other = (await create_environment(client))["id"]
    task = start_poll(client, env_id, A, block_ms=100)
    await wait_for_pollers(client, env_id, 1)
    await create_session(client, other)
    assert (await task).json() is None
    assert (await poll(client, other, B)) is not None


@pytest.mark.parametrize("params", [{}, {"block_ms": 1}, {"block_ms": 20}])
async def test_poll_with_nothing_returns_json_null(
    client: httpx.AsyncClient, env_id: str, params: dict[str, int]
) -> None:
    response = await client.get(work_path(env_id, "", "/poll"), params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content.strip() == b"null"


# list --------------------------------------------------------------------------------------


async def ids_of(client: httpx.AsyncClient, env_id: str, **params: Any) -> list[str]:
    response = await client.get(work_path(env_id), params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


@pytest.fixture
async def by_state(client: httpx.AsyncClient, clock: ManualClock, env_id: str) -> dict[str, str]:
    """One item in each state, created in this order (so ascending id = this order)."""
    result: dict[str, str] = {}
    for state in ["stopped", "stopping", "active", "starting", "queued"]:
        result[state] = (await build_item(client, clock, env_id, state))["id"]
    return result


async def test_list_filters_by_state(
    client: httpx.AsyncClient, env_id: str, by_state: dict[str, str]
) -> None:
    ordered = list(by_state.values())
    assert ordered == sorted(ordered)
    assert await ids_of(client, env_id) == ordered
    assert await ids_of(client, env_id, state="queued,active") == [
        by_state["active"],
        by_state["queued"],
    ]
    for state, work_id in by_state.items():
        assert await ids_of(client, env_id, state=state) == [work_id]
    full = "queued,starting,active,stopping,stopped"
    assert await ids_of(client, env_id, state=full) == ordered


async def test_list_paginates_ascending(
    client: httpx.AsyncClient, env_id: str, by_state: dict[str, str]
) -> None:
    ordered = list(by_state.values())
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        response = await client.get(work_path(env_id), params=params)
        body = response.json()
        pages += 1
        data_ids = [item["id"] for item in body["data"]]
        assert body["first_id"] == data_ids[0] and body["last_id"] == data_ids[-1]
        assert (body["next_page"] is not None) == body["has_more"]
        seen += data_ids
        if not body["has_more"]:
            break
        params = {"limit": 2, "page": body["next_page"]}
    assert seen == ordered
    assert pages == 3
    assert await ids_of(client, env_id, after_id=ordered[1]) == ordered[2:]
    assert await ids_of(client, env_id, before_id=ordered[3]) == ordered[:3]
    assert await ids_of(client, env_id, state="stopped,queued", limit=1) == [ordered[0]]
    first = await client.get(work_path(env_id), params={"state": "stopped,queued", "limit": 1})
    cursor = first.json()["next_page"]
    rest = await ids_of(client, env_id, state="stopped,queued", limit=1, page=cursor)
    assert rest == [ordered[-1]]


async def test_empty_list(client: httpx.AsyncClient, env_id: str) -> None:
    response = await client.get(work_path(env_id), params={"state": "stopping"})
    assert response.json() == {
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
        "next_page": None,
    }
