"""``Waiters``: one wake-up per notification, FIFO, one timer for every deadline."""

from __future__ import annotations

import asyncio

from workyard.service.waiters import Waiter, Waiters, Wake

FAR = 3600.0  # seconds: a deadline no test reaches


def far(loop: asyncio.AbstractEventLoop) -> float:
    return loop.time() + FAR


def queue_waiters(waiters: Waiters, n: int, key: str = "env", tag: int = 0) -> list[Waiter]:
    loop = asyncio.get_running_loop()
    result = []
    for _ in range(n):
        waiter = waiters.wait(key, waiters.token(key), far(loop), tag)
        assert waiter is not None
        result.append(waiter)
    return result


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def results(waiters: list[Waiter]) -> list[Wake | None]:
    return [w.future.result() if w.future.done() else None for w in waiters]


async def test_k_notifications_wake_exactly_k_waiters_in_fifo_order() -> None:
    waiters = Waiters()
    queued = queue_waiters(waiters, 10)
    for _ in range(3):
        waiters.notify("env")
    await settle()
    assert results(queued) == [Wake.NOTIFY] * 3 + [None] * 7
    assert waiters.woken == 3
    assert waiters.waiting("env") == 7
    waiters.notify_all()
    await settle()
    assert results(queued) == [Wake.NOTIFY] * 3 + [Wake.ALL] * 7
    assert waiters.waiting() == 0


async def test_notifications_of_one_key_leave_other_keys_waiting() -> None:
    waiters = Waiters()
    a = queue_waiters(waiters, 2, "a")
    b = queue_waiters(waiters, 2, "b")
    waiters.notify("a")
    await settle()
    assert results(a) == [Wake.NOTIFY, None]
    assert results(b) == [None, None]


async def test_a_notification_between_check_and_wait_is_not_lost() -> None:
    waiters = Waiters()
    loop = asyncio.get_running_loop()
    token = waiters.token("env")
    waiters.notify("env")  # nobody waits yet: the token records it
    assert waiters.wait("env", token, far(loop)) is None
    waiters.notify_all()
    assert waiters.wait("env", waiters.token("env"), far(loop)) is not None


async def test_deadlines_time_waiters_out_and_one_timer_serves_them() -> None:
    waiters = Waiters()
    loop = asyncio.get_running_loop()
    late = waiters.wait("env", waiters.token("env"), far(loop))
    due = [waiters.wait("env", waiters.token("env"), loop.time() - 1) for _ in range(5)]
    assert late is not None and all(w is not None for w in due)
    assert [await w.future for w in due if w is not None] == [Wake.TIMEOUT] * 5
    for w in due:
        assert w is not None
        waiters.done(w)
    assert waiters.timed_out == 5
    assert not late.future.done()
    waiters.notify("env")  # the timed-out waiters are gone: the notification reaches the live one
    assert await late.future is Wake.NOTIFY


async def test_an_abandoned_waiter_is_skipped_and_the_next_one_woken() -> None:
    waiters = Waiters()
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()
    first = waiters.wait("env", waiters.token("env"), far(loop), abandon=gone)
    second = waiters.wait("env", waiters.token("env"), far(loop))
    assert first is not None and second is not None
    gone.set_result(None)
    assert await first.future is Wake.ABANDON
    waiters.done(first, gone)
    waiters.notify("env")
    assert await second.future is Wake.NOTIFY
    assert waiters.woken == 1


async def test_an_already_completed_abandon_future_ends_the_wait_at_once() -> None:
    waiters = Waiters()
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()
    gone.set_result(None)
    waiter = waiters.wait("env", waiters.token("env"), far(loop), abandon=gone)
    assert waiter is not None
    assert waiter.future.result() is Wake.ABANDON


async def test_eligibility_and_max_tag_choose_whom_to_wake() -> None:
    allowed = {0, 5000}
    waiters = Waiters(eligible=lambda key, tag: tag in allowed)
    big, small, default = (
        queue_waiters(waiters, 1, tag=60_000)[0],
        queue_waiters(waiters, 1, tag=0)[0],
        queue_waiters(waiters, 1, tag=5000)[0],
    )
    assert sorted(waiters.tags("env")) == [0, 5000, 60_000]
    waiters.notify("env", max_tag=0)  # deliverable at once only to reclaim-0 polls
    await settle()
    assert results([big, small, default]) == [None, Wake.NOTIFY, None]
    waiters.notify("env")  # the first eligible: not the 60 s one
    await settle()
    assert results([big, small, default]) == [None, Wake.NOTIFY, Wake.NOTIFY]
    allowed.clear()
    waiters.notify("env")  # nobody eligible: nobody woken
    await settle()
    assert not big.future.done()
    assert waiters.tags("env") == [60_000]


async def test_a_readiness_instant_wakes_one_waiter() -> None:
    waiters = Waiters()
    loop = asyncio.get_running_loop()
    queued = queue_waiters(waiters, 3)
    waiters.ready_at("env", loop.time() + FAR)
    waiters.ready_at("env", loop.time() - 1)  # an earlier instant replaces the later one
    assert await queued[0].future is Wake.READY
    await settle()
    assert results(queued) == [Wake.READY, None, None]


async def test_readiness_calls_the_owner_callback() -> None:
    due: list[str] = []
    waiters = Waiters(on_ready=due.append)
    loop = asyncio.get_running_loop()
    waiters.ready_at("a", loop.time() - 1)
    waiters.ready_at("b", loop.time() - 1)
    waiters.ready_at("c", loop.time() + FAR)
    for _ in range(10):
        if len(due) == 2:
            break
        await asyncio.sleep(0)
    assert sorted(due) == ["a", "b"]


async def test_many_departed_waiters_are_compacted_away() -> None:
    waiters = Waiters()
    loop = asyncio.get_running_loop()
    live = queue_waiters(waiters, 1)[0]
    departed = queue_waiters(waiters, 200)
    for w in departed:
        w.future.cancel()
        waiters.done(w)
    assert waiters.waiting("env") == 1
    assert len(waiters._queues["env"]) < 100  # dead entries do not pile up
    waiters.notify("env")
    assert await live.future is Wake.NOTIFY
    later = waiters.wait("env", waiters.token("env"), far(loop))
    assert later is not None and waiters.waiting("env") == 1
