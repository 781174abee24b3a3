"""Races of real requests on one work item: exactly one winner, no lost update (spec/work.md)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.api.test_work_table import acked, build_item, get_item, work_path
from tests.conftest import assert_error, create_environment, create_session
from workyard.clock import ManualClock


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


async def test_50_concurrent_polls_deliver_one_item_once(
    client: httpx.AsyncClient, env_id: str
) -> None:
    session = await create_session(client, env_id)
    responses = await asyncio.gather(
        *(
            client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": f"w{i}"})
            for i in range(50)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    delivered = [r.json() for r in responses if r.json() is not None]
    assert len(delivered) == 1
    assert delivered[0]["id"] == session["work_id"]
    stats = (await client.get(work_path(env_id, "", "/stats"))).json()
    assert (stats["depth"], stats["pending"], stats["workers_polling"]) == (0, 1, 50)


async def test_concurrent_polls_share_several_items_without_duplicates(
    client: httpx.AsyncClient, env_id: str
) -> None:
    work_ids = {(await create_session(client, env_id))["work_id"] for _ in range(10)}
    responses = await asyncio.gather(
        *(client.get(work_path(env_id, "", "/poll"), params={"block_ms": 1}) for _ in range(30))
    )
    delivered = [r.json()["id"] for r in responses if r.json() is not None]
    assert sorted(delivered) == sorted(work_ids)  # each item exactly once


async def test_20_concurrent_acks_one_winner(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    item = await build_item(client, clock, env_id, "queued")  # never delivered: any id may claim
    url = work_path(env_id, item["id"], "/ack")
    workers = [f"worker-{i}" for i in range(20)]
    responses = await asyncio.gather(*(client.post(url, headers={"Worker-ID": w}) for w in workers))
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 19}
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "invalid_request_error")
    winner = workers[[r.status_code for r in responses].index(200)]
    after = await get_item(client, env_id, item["id"])
    assert after["state"] == "starting"
    # the winner holds the lease: its retry is a no-op, any other worker is refused
    assert acked(await client.post(url, headers={"Worker-ID": winner})) == after
    loser = next(w for w in workers if w != winner)
    assert (await client.post(url, headers={"Worker-ID": loser})).status_code == 409


@pytest.mark.parametrize("state", ["starting", "active"])
async def test_20_concurrent_heartbeats_with_one_precondition(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    item = await build_item(client, clock, env_id, state)
    expected = item["latest_heartbeat_at"] or "NO_HEARTBEAT"
    clock.advance(1)
    responses = await asyncio.gather(
        *(
            client.post(
                work_path(env_id, item["id"], "/heartbeat"),
                params={"expected_last_heartbeat": expected},
            )
            for _ in range(20)
        )
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 412: 19}
    for response in responses:
        if response.status_code == 412:
            assert_error(response, 412, "precondition_failed_error")
    won = next(r for r in responses if r.status_code == 200).json()
    after = await get_item(client, env_id, item["id"])
    assert after["state"] == "active"
    assert after["latest_heartbeat_at"] == won["last_heartbeat"]


async def test_20_concurrent_unconditional_heartbeats_all_succeed_with_distinct_tokens(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    item = await build_item(client, clock, env_id, "active")
    responses = await asyncio.gather(
        *(client.post(work_path(env_id, item["id"], "/heartbeat")) for _ in range(20))
    )
    assert all(r.status_code == 200 for r in responses)
    beats = [r.json()["last_heartbeat"] for r in responses]
    assert len(set(beats)) == 20  # each successful heartbeat is a distinct fencing token
    assert (await get_item(client, env_id, item["id"]))["latest_heartbeat_at"] == max(beats)


async def test_16_concurrent_metadata_patches_all_survive(
    client: httpx.AsyncClient, env_id: str
) -> None:
    session = await create_session(client, env_id)
    url = work_path(env_id, session["work_id"])
    responses = await asyncio.gather(
        *(client.post(url, json={"metadata": {f"key{i}": f"value{i}"}}) for i in range(16))
    )
    assert all(r.status_code == 200 for r in responses)
    after = await get_item(client, env_id, session["work_id"])
    assert after["metadata"] == {f"key{i}": f"value{i}" for i in range(16)}


async def test_concurrent_stops_end_in_stopped(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    item = await build_item(client, clock, env_id, "active")
    responses = await asyncio.gather(
        *(client.post(work_path(env_id, item["id"], "/stop")) for _ in range(10))
    )
    assert all(r.status_code == 200 for r in responses)
    states = Counter(r.json()["state"] for r in responses)
    assert states["stopping"] == 1  # exactly one request made the graceful transition
    assert states["stopping"] + states["stopped"] == 10
    assert (await get_item(client, env_id, item["id"]))["state"] == "stopped"
