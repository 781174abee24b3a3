"""Blocked polls: one wake-up per deliverable item, abandoned polls never claim, undone deliveries.

Racing real requests; the wake-up count is read from the queue's waiters.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.test_work_lease_2 import poll, start_poll, stats, wait_for_pollers
from tests.api.test_work_table import work_path
from tests.conftest import create_environment, create_session
from workyard.clock import ManualClock
from workyard.service.auth import Principal
from workyard.service.container import Services


async def wait_for_waiters(services: Services, env_id: str, n: int) -> None:
    """Yield until ``n`` polls are queued as waiters (not merely registered as polling)."""
    for _ in range(10_000):
        if services.queue.waiters.waiting(env_id) >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError("the blocked poll never started waiting")


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


@pytest.fixture
async def principal(services: Services, admin_token: str) -> Principal:
    return await services.tokens.authenticate(f"Bearer {admin_token}")


async def test_n_blocked_polls_and_k_items_wake_exactly_k(
    client: httpx.AsyncClient, services: Services, env_id: str
) -> None:
    n, k = 12, 4
    polls = [start_poll(client, env_id, f"w{i}", block_ms=999) for i in range(n)]
    await wait_for_pollers(client, env_id, n)
    woken_before = services.queue.waiters.woken
    work_ids = {(await create_session(client, env_id))["work_id"] for _ in range(k)}
    responses = await asyncio.gather(*polls)
    delivered = [r.json()["id"] for r in responses if r.json() is not None]
    assert sorted(delivered) == sorted(work_ids)  # k claimed, each item once
    assert sum(r.json() is None for r in responses) == n - k  # the rest timed out
    assert services.queue.waiters.woken - woken_before == k  # one wake-up per item, no herd
    assert services.queue.waiters.waiting() == 0


async def test_blocked_and_immediate_polls_race_for_one_item(
    client: httpx.AsyncClient, env_id: str
) -> None:
    blocked = [start_poll(client, env_id, f"b{i}", block_ms=999) for i in range(10)]
    await wait_for_pollers(client, env_id, 10)
    session = asyncio.create_task(create_session(client, env_id))
    immediate = [
        client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": f"i{i}"})
        for i in range(10)
    ]
    responses = await asyncio.gather(*blocked, *immediate)
    delivered = [r.json()["id"] for r in responses if r.json() is not None]
    assert delivered == [(await session)["work_id"]]


async def test_a_fresh_delivery_wakes_a_blocked_reclaim_zero_poll(
    client: httpx.AsyncClient, env_id: str
) -> None:
    first = start_poll(client, env_id, "default", block_ms=999)
    await wait_for_pollers(client, env_id, 1)
    zero = start_poll(client, env_id, "zero", block_ms=999, reclaim_older_than_ms=0)
    await wait_for_pollers(client, env_id, 2)
    session = await create_session(client, env_id)  # wakes the first waiter, which claims it
    # the delivery makes the item deliverable again at once to a reclaim-0 poll: it is woken too
    assert (await first).json()["id"] == session["work_id"]
    assert (await zero).json()["id"] == session["work_id"]


async def test_an_abandoned_poll_returns_at_once_and_claims_nothing(
    client: httpx.AsyncClient, services: Services, principal: Principal, env_id: str
) -> None:
    gone: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    queue = services.queue
    task = asyncio.create_task(queue.poll(principal, env_id, "departed", 999, 5000, gone))
    await wait_for_pollers(client, env_id, 1)
    assert not task.done()
    gone.set_result(None)  # the client went away (or its credential died)
    assert await task is None
    assert queue.waiters.waiting(env_id) == 0
    session = await create_session(client, env_id)
    assert (await poll(client, env_id, "present"))["id"] == session["work_id"]
    late_ack = await client.post(
        work_path(env_id, session["work_id"], "/ack"), headers={"Worker-ID": "departed"}
    )
    assert late_ack.status_code == 409  # delivered to "present", never to "departed"


async def test_an_already_abandoned_poll_claims_nothing(
    client: httpx.AsyncClient, services: Services, principal: Principal, env_id: str
) -> None:
    session = await create_session(client, env_id)
    gone: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    gone.set_result(None)
    assert await services.queue.poll(principal, env_id, "departed", 999, 5000, gone) is None
    assert (await poll(client, env_id, "present"))["id"] == session["work_id"]


async def test_an_undone_delivery_is_deliverable_again_at_once(
    client: httpx.AsyncClient, services: Services, principal: Principal, env_id: str
) -> None:
    session = await create_session(client, env_id)
    queue = services.queue
    item = await queue.poll(principal, env_id, "vanished", None, 5000)
    assert item is not None and item.id == session["work_id"]
    # A service-level poll may block far longer than the API's 999 ms: only the release can end
    # it in time, however slow the machine (a lost wake-up fails after a minute, never by luck).
    waiting = asyncio.create_task(queue.poll(principal, env_id, "next", 60_000, 5000))
    await wait_for_waiters(services, env_id, 1)
    await queue.release(item)  # the response could not be written
    woken = await waiting
    assert woken is not None and woken.id == session["work_id"]  # woken by the release
    assert (await stats(client, env_id))["pending"] == 1


async def test_undoing_a_delivery_changes_nothing_once_the_item_moved_on(
    client: httpx.AsyncClient,
    services: Services,
    principal: Principal,
    clock: ManualClock,
    env_id: str,
) -> None:
    await create_session(client, env_id)
    queue = services.queue
    item = await queue.poll(principal, env_id, "w", None, 5000)
    assert item is not None
    acked = await client.post(work_path(env_id, item.id, "/ack"), headers={"Worker-ID": "w"})
    assert acked.status_code == 200
    await queue.release(item)  # compare-and-set: the item is no longer as claimed
    after = (await client.get(work_path(env_id, item.id))).json()
    assert after == {**acked.json(), "secret": None}  # the credential is in the ack alone
    clock.advance(1)
    assert await poll(client, env_id, "other", reclaim_older_than_ms=0) is None
