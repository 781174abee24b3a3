"""Background loops sleep on ``Wakeup``: a cancellation that races a wake-up is never swallowed.

(``asyncio.wait_for`` in Python 3.11 returns normally when the awaited event was set in the same
loop turn as the cancellation, so a loop that sleeps with it may never stop.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from tests.api.test_work_table import work_path
from tests.conftest import START, create_environment, create_session
from workyard.clock import Instant, ManualClock
from workyard.service.container import Services
from workyard.service.wakeup import Wakeup

BOUND = 10.0  # seconds: a bound for a hang, never a timing assertion


async def _sleeping(wake: Wakeup, seconds: float | None) -> asyncio.Task[None]:
    task = asyncio.create_task(wake.sleep(seconds))
    await asyncio.sleep(0)  # the task is now inside sleep()
    assert not task.done()
    return task


@pytest.mark.parametrize("seconds", [None, 3600.0])
async def test_a_cancel_in_the_same_turn_as_a_wake_up_cancels(seconds: float | None) -> None:
    wake = Wakeup()
    task = await _sleeping(wake, seconds)
    wake.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_set_wakes_the_sleeper_and_stays_set_until_cleared() -> None:
    wake = Wakeup()
    task = await _sleeping(wake, None)
    wake.set()
    await asyncio.wait_for(task, BOUND)
    assert wake.is_set()
    await asyncio.wait_for(wake.sleep(None), BOUND)  # set already: returns at once
    wake.clear()
    assert not wake.is_set()
    again = await _sleeping(wake, None)  # cleared: sleeps again
    again.cancel()
    with pytest.raises(asyncio.CancelledError):
        await again


async def test_the_delay_ends_a_sleep_and_no_delay_returns_at_once() -> None:
    wake = Wakeup()
    await asyncio.wait_for(wake.sleep(0.001), BOUND)
    await asyncio.wait_for(wake.sleep(0), BOUND)
    await asyncio.wait_for(wake.sleep(-1), BOUND)
    assert not wake.is_set()


class _RealDelays(ManualClock):
    """A frozen clock whose future deadlines are an hour of real time away (so the sweeper sleeps
    with a timeout, the case ``wait_for`` mishandles), and still jumps with ``advance``."""

    def real_delay(self, until: Instant) -> float | None:
        return 0.0 if until <= self.now() else 3600.0


@pytest.fixture
def clock() -> ManualClock:
    return _RealDelays(START)


async def _sweeper_sleeping_on_a_lease(services: Services, client: httpx.AsyncClient) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    acked = await client.post(work_path(env_id, session["work_id"], "/ack"))
    assert acked.status_code == 200  # a lease: the sweeper sleeps until its deadline
    await services.queue.keeper.settled(env_id)  # PostgreSQL: the index learns it from the feed
    assert services.queue.index.next_deadline() is not None
    for _ in range(100_000):  # until the sweeper finished its pass and sleeps on the lease
        if services.queue.sweeper_sleeping:
            return
        await asyncio.sleep(0)
    raise AssertionError("the sweeper never went to sleep")


async def test_the_sweeper_stops_when_a_wake_up_races_the_stop(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """A clock jump wakes the sweeper in the same turn as ``stop()`` cancels it."""
    await _sweeper_sleeping_on_a_lease(services, client)
    clock.advance(1)
    await _stops(services.queue.stop())


async def _stops(stop: Coroutine[Any, Any, None]) -> None:
    """``stop`` finishes on its own (``wait_for`` would cancel it, and stop() suppresses that)."""
    task = asyncio.create_task(stop)
    done, _ = await asyncio.wait([task], timeout=BOUND)
    assert task in done, "stop() hung: the cancellation was swallowed"


async def test_retention_stops_when_a_wake_up_races_the_stop(
    services: Services, clock: ManualClock
) -> None:
    assert services.retention.running
    clock.advance(1)
    await _stops(services.retention.stop())
    assert not services.retention.running
