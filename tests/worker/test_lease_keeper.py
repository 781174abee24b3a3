"""The lease keeper against canned server answers, on a virtual clock (nothing really waits)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from workyard.client import AsyncClient, RetryPolicy, WorkItem
from workyard.worker.context import ItemSignals
from workyard.worker.lease import NO_HEARTBEAT, LeaseKeeper
from workyard.worker.logs import StatusLog

ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"
WORK = "work_0190a1b2c3d4e5f60718293a4b5c6d7e"
ACKED = "2026-07-01T08:00:00.000000Z"
BEAT_1 = "2026-07-01T08:00:01.000000Z"
BEAT_2 = "2026-07-01T08:00:04.000000Z"
BEAT_3 = "2026-07-01T08:00:06.000000Z"
NO_WAIT = RetryPolicy(max_retries=1, initial_delay=0.0, max_delay=0.0)
TTL = 10

Answer = Callable[[httpx.Request], httpx.Response]


class VirtualTime:
    """A monotonic clock that moves only when the keeper sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Scripted:
    """Answers requests in order from a script; records each request and its virtual time."""

    def __init__(self, clock: VirtualTime, *answers: Answer | httpx.Response) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.requests: list[tuple[float, httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((self.clock.now, request))
        answer = self.answers.pop(0)
        return answer if isinstance(answer, httpx.Response) else answer(request)

    def heartbeats(self) -> list[tuple[float, str | None]]:
        """(time, expected_last_heartbeat) of each heartbeat request."""
        return [
            (round(at, 2), r.url.params.get("expected_last_heartbeat"))
            for at, r in self.requests
            if r.url.path.endswith("/heartbeat")
        ]


def _item(**fields: Any) -> dict[str, Any]:
    return {"id": WORK, "environment_id": ENV, "state": "active", "acknowledged_at": ACKED,
            "latest_heartbeat_at": None, **fields}  # fmt: skip


def _beat(at: str, state: str = "active") -> httpx.Response:
    body = {"type": "work_heartbeat", "last_heartbeat": at, "lease_extended": True,
            "state": state, "ttl_seconds": TTL}  # fmt: skip
    return httpx.Response(200, json=body)


def _error(status: int, kind: str) -> httpx.Response:
    return httpx.Response(status, json={"type": "error", "error": {"type": kind, "message": kind}})


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


CONFLICT = _error(409, "invalid_request_error")
PRECONDITION = _error(412, "precondition_failed_error")


@pytest.fixture
def clock() -> VirtualTime:
    return VirtualTime()


async def _keep(
    clock: VirtualTime, server: Scripted, check_every: float | None = None
) -> tuple[ItemSignals, list[dict[str, Any]]]:
    """Run a keeper for a just-acked item until it reports the lease lost."""
    stream = io.StringIO()
    signals = ItemSignals()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        client = AsyncClient("http://server.test", "pt-x", http_client=http, retry_policy=NO_WAIT)
        keeper = LeaseKeeper(
            client,
            WorkItem.from_dict(_item(state="starting")),
            ttl=TTL,
            signals=signals,
            log=StatusLog("json", stream),
            acquired_at=0.0,
            check_every=check_every,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
        )
        await keeper.run()  # returns only when the lease is lost
    return signals, [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_heartbeats_go_every_third_of_the_ttl_echoing_the_last_one(
    clock: VirtualTime,
) -> None:
    server = Scripted(clock, _beat(BEAT_1), _beat(BEAT_2), _beat(BEAT_3, "stopping"), CONFLICT)
    signals, events = await _keep(clock, server)
    assert server.heartbeats() == [
        (0.0, NO_HEARTBEAT), (3.33, BEAT_1), (6.67, BEAT_2), (10.0, BEAT_3)
    ]  # fmt: skip
    assert all(r.url.params["desired_ttl_seconds"] == "10" for _, r in server.requests)
    assert signals.stopping.is_set()
    assert signals.stop_reason == "requested"
    assert signals.lease_lost_reason == "409 conflict"
    assert [e["event"] for e in events] == ["stopping"]


async def test_no_successful_heartbeat_for_a_whole_ttl_loses_the_lease(
    clock: VirtualTime,
) -> None:
    server = Scripted(clock, *[_refuse] * 40)
    signals, events = await _keep(clock, server)
    # Retries after 1 s, 2 s, 4 s… but at most ttl/6 (1.67 s here) and never past the deadline.
    times = [at for at, _ in server.heartbeats()[::2]]  # each call is retried once by the SDK
    assert times == [0.0, 1.0, 2.67, 4.33, 6.0, 7.67, 9.33]
    assert clock.now == 10.0
    assert signals.lease_lost_reason == "no successful heartbeat for 10s"
    assert [e["event"] for e in events] == ["heartbeat_failed"] * len(times)
    assert events[0]["reason"].startswith("connection error")
    assert events[-1]["lost_in"] == pytest.approx(0.67, abs=0.01)


async def test_a_heartbeat_that_fails_then_succeeds_keeps_the_lease(clock: VirtualTime) -> None:
    server = Scripted(clock, _beat(BEAT_1), _refuse, _refuse, _beat(BEAT_2), CONFLICT)
    signals, events = await _keep(clock, server)
    assert server.heartbeats() == [
        (0.0, NO_HEARTBEAT), (3.33, BEAT_1), (3.33, BEAT_1), (4.33, BEAT_1), (7.67, BEAT_2)
    ]  # fmt: skip
    assert [e["event"] for e in events] == ["heartbeat_failed", "heartbeat_recovered"]
    assert signals.lease_lost_reason == "409 conflict"  # lost only by the last answer


async def test_a_412_on_a_lease_that_is_someone_else_s_is_a_lost_lease(clock: VirtualTime) -> None:
    theirs = _item(acknowledged_at="2026-07-01T08:01:00.000000Z", latest_heartbeat_at=BEAT_2)
    server = Scripted(clock, _beat(BEAT_1), PRECONDITION, httpx.Response(200, json=theirs))
    signals, _ = await _keep(clock, server)
    assert signals.lease_lost_reason == "412 precondition failed"
    assert [r.method for _, r in server.requests] == ["POST", "POST", "GET"]


async def test_a_412_caused_by_our_own_retried_heartbeat_keeps_the_lease(
    clock: VirtualTime,
) -> None:
    still_mine = _item(latest_heartbeat_at=BEAT_2)  # our previous attempt moved it to BEAT_2
    not_found = _error(404, "not_found_error")
    server = Scripted(
        clock, _beat(BEAT_1), PRECONDITION, httpx.Response(200, json=still_mine), _beat(BEAT_3),
        not_found,
    )  # fmt: skip
    signals, events = await _keep(clock, server)
    assert server.heartbeats() == [
        (0.0, NO_HEARTBEAT), (3.33, BEAT_1), (3.33, BEAT_2), (6.67, BEAT_3)
    ]  # fmt: skip
    assert signals.lease_lost_reason == "404 not found"
    assert events == []


async def test_a_second_412_in_a_row_is_a_lost_lease(clock: VirtualTime) -> None:
    still_mine = httpx.Response(200, json=_item(latest_heartbeat_at=BEAT_2))
    server = Scripted(clock, _beat(BEAT_1), PRECONDITION, still_mine, PRECONDITION)
    signals, _ = await _keep(clock, server)
    assert signals.lease_lost_reason == "412 precondition failed"


# stop checks --------------------------------------------------------------------------------


def _read(**fields: Any) -> httpx.Response:
    return httpx.Response(200, json=_item(**fields))


def _calls(server: Scripted) -> list[tuple[float, str]]:
    return [(round(at, 2), r.method) for at, r in server.requests]


async def test_a_stop_check_brings_the_heartbeat_forward_when_a_stop_was_requested(
    clock: VirtualTime,
) -> None:
    server = Scripted(
        clock, _beat(BEAT_1),
        _read(), _read(state="stopping"), _beat(BEAT_2, "stopping"),
        _read(state="stopping"), _read(state="stopping"), _read(state="stopping"), CONFLICT,
    )  # fmt: skip
    signals, events = await _keep(clock, server, check_every=1.0)
    assert _calls(server) == [
        (0.0, "POST"), (1.0, "GET"), (2.0, "GET"), (2.0, "POST"),
        (3.0, "GET"), (4.0, "GET"), (5.0, "GET"), (5.33, "POST"),
    ]  # fmt: skip
    assert signals.stop_reason == "requested"
    assert [e["event"] for e in events] == ["stopping"]
    assert signals.lease_lost_reason == "409 conflict"  # decided by the heartbeat, not the read


async def test_a_stop_check_that_finds_the_item_stopped_lets_the_heartbeat_lose_the_lease(
    clock: VirtualTime,
) -> None:
    server = Scripted(clock, _beat(BEAT_1), _read(), _read(state="stopped"), CONFLICT)
    signals, _ = await _keep(clock, server, check_every=1.0)
    assert _calls(server) == [(0.0, "POST"), (1.0, "GET"), (2.0, "GET"), (2.0, "POST")]
    assert signals.lease_lost_reason == "409 conflict"


async def test_a_stop_check_that_sees_another_worker_s_ack_brings_the_heartbeat_forward(
    clock: VirtualTime,
) -> None:
    theirs = _read(acknowledged_at="2026-07-01T08:01:00.000000Z", latest_heartbeat_at=BEAT_2)
    server = Scripted(clock, _beat(BEAT_1), theirs, PRECONDITION, theirs)
    signals, _ = await _keep(clock, server, check_every=1.0)
    assert _calls(server) == [(0.0, "POST"), (1.0, "GET"), (1.0, "POST"), (1.0, "GET")]
    assert signals.lease_lost_reason == "412 precondition failed"


async def test_a_failed_stop_check_changes_nothing(clock: VirtualTime) -> None:
    server = Scripted(
        clock, _beat(BEAT_1), _refuse, _refuse, _read(), _beat(BEAT_2), _read(), _read(), CONFLICT
    )
    signals, events = await _keep(clock, server, check_every=1.5)
    assert server.heartbeats() == [(0.0, NO_HEARTBEAT), (3.33, BEAT_1), (6.67, BEAT_2)]
    assert [at for at, method in _calls(server) if method == "GET"] == [1.5, 1.5, 3.0, 4.83, 6.33]
    assert events == []
    assert signals.lease_lost_reason == "409 conflict"
