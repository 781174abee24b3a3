"""spec/work.md §2: the delivery window, the ack and heartbeat leases, expiry and fencing.

Time only moves through the ManualClock; every boundary is checked one microsecond before and at it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.api.test_work_table import get_item, work_path
from tests.conftest import assert_error, create_environment, create_session
from workyard.clock import ManualClock, format_ts, parse_ts

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


async def ack(client: httpx.AsyncClient, env_id: str, work_id: str, worker: str) -> httpx.Response:
    return await client.post(work_path(env_id, work_id, "/ack"), headers={"Worker-ID": worker})


async def beat(
    client: httpx.AsyncClient, env_id: str, work_id: str, **params: Any
) -> httpx.Response:
    return await client.post(work_path(env_id, work_id, "/heartbeat"), params=params)


async def new_work(client: httpx.AsyncClient, env_id: str) -> str:
    work_id: str = (await create_session(client, env_id))["work_id"]
    return work_id


async def take(client: httpx.AsyncClient, env_id: str, worker: str, **params: Any) -> str:
    """Poll, ack and first-heartbeat as ``worker``; return ``last_heartbeat``."""
    item = await poll(client, env_id, worker)
    assert (await ack(client, env_id, item["id"], worker)).status_code == 200
    response = await beat(
        client, env_id, item["id"], expected_last_heartbeat="NO_HEARTBEAT", **params
    )
    assert response.status_code == 200, response.text
    last: str = response.json()["last_heartbeat"]
    return last


async def start(
    client: httpx.AsyncClient, env_id: str, worker: str, **params: Any
) -> tuple[str, str]:
    """A new item taken by ``worker``: its id and ``last_heartbeat``."""
    work_id = await new_work(client, env_id)
    return work_id, await take(client, env_id, worker, **params)


def assert_requeued(item: dict[str, Any]) -> None:
    assert item["state"] == "queued"
    assert item["acknowledged_at"] is None
    assert item["started_at"] is None
    assert item["latest_heartbeat_at"] is None


# delivery window -------------------------------------------------------------------------------


async def test_second_poll_skips_item_until_default_window_elapses(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id = await new_work(client, env_id)
    assert (await poll(client, env_id, A))["id"] == work_id
    assert (await get_item(client, env_id, work_id))["state"] == "queued"
    clock.advance(5 - US)
    assert await poll(client, env_id, B) is None
    clock.advance(US)  # exactly 5000 ms after the delivery
    assert (await poll(client, env_id, B))["id"] == work_id


async def test_reclaim_zero_redelivers_at_once(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id = await new_work(client, env_id)
    assert (await poll(client, env_id, A))["id"] == work_id
    assert await poll(client, env_id, B) is None
    assert (await poll(client, env_id, B, reclaim_older_than_ms=0))["id"] == work_id


async def test_window_is_the_later_polls_reclaim(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id = await new_work(client, env_id)
    assert (await poll(client, env_id, A, reclaim_older_than_ms=0))["id"] == work_id
    clock.advance(1 - US)
    assert await poll(client, env_id, B, reclaim_older_than_ms=1000) is None
    assert await poll(client, env_id, B, reclaim_older_than_ms=0) is not None  # redelivered now
    clock.advance(1)
    assert await poll(client, env_id, A, reclaim_older_than_ms=1001) is None
    assert (await poll(client, env_id, A, reclaim_older_than_ms=1000))["id"] == work_id


async def test_redelivery_replaces_worker_id_so_first_workers_late_ack_conflicts(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id = await new_work(client, env_id)
    assert (await poll(client, env_id, A))["id"] == work_id
    clock.advance(5)
    assert (await poll(client, env_id, B))["id"] == work_id
    late = await ack(client, env_id, work_id, A)
    assert_error(late, 409, "invalid_request_error")
    assert (await get_item(client, env_id, work_id))["state"] == "queued"
    taken = await ack(client, env_id, work_id, B)
    assert taken.status_code == 200
    assert taken.json()["state"] == "starting"


async def test_oldest_deliverable_item_first(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    ids = [await new_work(client, env_id) for _ in range(3)]
    assert [(await poll(client, env_id, A))["id"] for _ in range(3)] == ids
    assert await poll(client, env_id, A) is None
    clock.advance(5)
    assert (await poll(client, env_id, B))["id"] == ids[0]


# ack lease ---------------------------------------------------------------------------------


async def test_acked_item_without_heartbeat_returns_to_queue_exactly_at_60s(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id = await new_work(client, env_id)
    assert (await poll(client, env_id, A))["id"] == work_id
    clock.advance(2)  # the lease runs from the ack, not from the delivery
    acked = await ack(client, env_id, work_id, A)
    assert acked.json()["acknowledged_at"] == format_ts(clock.now())
    clock.advance(60 - US)
    assert await get_item(client, env_id, work_id) == acked.json() | {"secret": None}
    clock.advance(US)
    item = await get_item(client, env_id, work_id)
    assert_requeued(item)
    # the delivery record is reset too: even a poll with a huge window gets it at once
    assert (await poll(client, env_id, B, reclaim_older_than_ms=3_600_000))["id"] == work_id


# heartbeat lease ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "ttl"), [(None, 60), (5, 10), (10, 10), (30, 30), (600, 600), (10000, 600)]
)
async def test_heartbeat_lease_ttl_is_clamped_and_expires_exactly(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, desired: int | None, ttl: int
) -> None:
    work_id = await new_work(client, env_id)
    assert (await ack(client, env_id, work_id, A)).status_code == 200
    clock.advance(1)
    params = {} if desired is None else {"desired_ttl_seconds": desired}
    response = await beat(client, env_id, work_id, **params)
    assert response.status_code == 200
    assert response.json()["ttl_seconds"] == ttl
    assert response.json()["last_heartbeat"] == format_ts(clock.now())
    clock.advance(ttl - US)
    assert (await get_item(client, env_id, work_id))["state"] == "active"
    clock.advance(US)
    assert_requeued(await get_item(client, env_id, work_id))
    listed = await client.get(work_path(env_id), params={"state": "queued"})
    assert [w["id"] for w in listed.json()["data"]] == [work_id]


async def test_each_heartbeat_extends_the_lease_from_itself(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id, last = await start(client, env_id, A, desired_ttl_seconds=10)
    for _ in range(5):
        clock.advance(9)
        response = await beat(client, env_id, work_id, expected_last_heartbeat=last)
        assert response.status_code == 200
        assert response.json()["ttl_seconds"] == 60  # no desired TTL this time: the default
        last = response.json()["last_heartbeat"]
    assert (await get_item(client, env_id, work_id))["latest_heartbeat_at"] == last
    clock.advance(60 - US)
    assert (await get_item(client, env_id, work_id))["state"] == "active"
    clock.advance(US)
    assert (await get_item(client, env_id, work_id))["state"] == "queued"


async def test_stopping_item_expires_to_stopped_at_the_deadline(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id, last = await start(client, env_id, A, desired_ttl_seconds=30)
    clock.advance(5)
    stopping = await client.post(work_path(env_id, work_id, "/stop"))
    assert stopping.json()["state"] == "stopping"
    clock.advance(25 - US)
    assert await get_item(client, env_id, work_id) == stopping.json()
    clock.advance(US)
    deadline = format_ts(parse_ts(last) + 30_000_000)
    item = await get_item(client, env_id, work_id)
    assert item["state"] == "stopped"
    assert item["stopped_at"] == deadline
    assert item["stop_requested_at"] == stopping.json()["stop_requested_at"]
    clock.advance(100)
    assert await get_item(client, env_id, work_id) == item
    assert await poll(client, env_id, B, reclaim_older_than_ms=0) is None


# fencing -----------------------------------------------------------------------------------


async def test_fencing_after_takeover(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id, last_a = await start(client, env_id, A)
    clock.advance(60)  # A's lease expires; B takes the item over
    last_b = await take(client, env_id, B)
    assert parse_ts(last_b) > parse_ts(last_a)
    stale = await beat(client, env_id, work_id, expected_last_heartbeat=last_a)
    assert_error(stale, 412, "precondition_failed_error")
    assert B not in stale.text and A not in stale.text
    first = await beat(client, env_id, work_id, expected_last_heartbeat="NO_HEARTBEAT")
    assert_error(first, 412, "precondition_failed_error")
    assert_error(await ack(client, env_id, work_id, A), 409, "invalid_request_error")
    item = await get_item(client, env_id, work_id)
    assert item["latest_heartbeat_at"] == last_b
    ok = await beat(client, env_id, work_id, expected_last_heartbeat=last_b)
    assert ok.status_code == 200


async def test_old_workers_heartbeat_on_requeued_item_conflicts(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id, last_a = await start(client, env_id, A)
    clock.advance(60)
    for params in ({"expected_last_heartbeat": last_a}, {}):
        response = await beat(client, env_id, work_id, **params)
        body = assert_error(response, 409, "invalid_request_error")
        assert "queued" in body["error"]["message"]
    assert_requeued(await get_item(client, env_id, work_id))


# timestamps as instants --------------------------------------------------------------------


def _in_zone(ts: str, hours: int) -> str:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    "form",
    [
        lambda ts: ts.replace("Z", "+00:00"),
        lambda ts: _in_zone(ts, 2),
        lambda ts: _in_zone(ts, -5),
        lambda ts: ts.replace(".120000Z", ".12Z"),
        lambda ts: ts.replace(".120000Z", ".120000000Z"),
    ],
    ids=["plus-zero", "plus-two", "minus-five", "short-fraction", "nanoseconds"],
)
async def test_expected_last_heartbeat_compares_instants(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, form: Any
) -> None:
    clock.advance(0.12)
    work_id, last = await start(client, env_id, A)
    assert last.endswith(".120000Z")
    other_form: str = form(last)
    assert other_form != last
    clock.advance(1)
    response = await beat(client, env_id, work_id, expected_last_heartbeat=other_form)
    assert response.status_code == 200, response.text


async def test_expected_last_heartbeat_one_microsecond_off_fails(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id, last = await start(client, env_id, A)
    for delta in (-1, 1):
        off = format_ts(parse_ts(last) + delta)
        response = await beat(client, env_id, work_id, expected_last_heartbeat=off)
        assert_error(response, 412, "precondition_failed_error")
    assert (await get_item(client, env_id, work_id))["latest_heartbeat_at"] == last


# integers beyond 64 bits are still integers (clamped, never an error) ----------------------

HUGE = "9" * 25


async def test_huge_desired_ttl_is_clamped_to_600(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    work_id = await new_work(client, env_id)
    assert (await ack(client, env_id, work_id, A)).status_code == 200
    response = await beat(client, env_id, work_id, desired_ttl_seconds=HUGE)
    assert response.status_code == 200, response.text
    assert response.json()["ttl_seconds"] == 600


async def test_huge_reclaim_window_never_redelivers(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    first = await new_work(client, env_id)
    assert (await poll(client, env_id, A))["id"] == first
    clock.advance(3600)
    assert await poll(client, env_id, B, reclaim_older_than_ms=HUGE) is None
    second = await new_work(client, env_id)
    assert (await poll(client, env_id, B, reclaim_older_than_ms=HUGE))["id"] == second
