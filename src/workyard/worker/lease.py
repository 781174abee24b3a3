"""The lease keeper: heartbeats for one work item, in their own task.

The first heartbeat sends ``expected_last_heartbeat=NO_HEARTBEAT``; each later one echoes the
``last_heartbeat`` of the previous answer, with ``desired_ttl_seconds=ttl``, every ``ttl / 3``.

Lost lease: a 409 or 404 answer, a 412 that is really someone else's lease, or no successful
heartbeat for a whole TTL. A 412 can also be our own success seen twice: the SDK retries a
heartbeat whose answer was lost, and the retry's precondition then names a heartbeat the server
has already replaced. So on 412 the keeper reads the item: if it is still live, still carries the
``acknowledged_at`` of our ack (an expiry clears it and another worker's ack sets a new one), and
its ``latest_heartbeat_at`` is not older than what we expected, the lease is ours: the keeper adopts
that timestamp and heartbeats once more. A second 412 in a row means the lease is lost.

Stop checks (``check_every`` seconds, off when ``None``): between heartbeats the keeper reads the
item, a cheap GET, and brings the next heartbeat forward as soon as the item is no longer as the
last heartbeat left it (a stop was requested, it was force-stopped, it moved to another worker). So
an archived session or a ``work stop`` reaches the command within seconds rather than at the next
``ttl / 3`` heartbeat. The heartbeat stays the only thing that decides: a read never stops or
abandons anything by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from workyard.client import (
    APIStatusError,
    AsyncClient,
    ConflictError,
    HeartbeatResult,
    NotFoundError,
    WorkItem,
)
from workyard.clock import parse_ts
from workyard.worker.backoff import LeaseTimer
from workyard.worker.context import ItemSignals
from workyard.worker.logs import StatusLog, describe_error

__all__ = ["LIVE_STATES", "NO_HEARTBEAT", "LeaseKeeper", "LeaseLostError", "still_ours"]

NO_HEARTBEAT = "NO_HEARTBEAT"
_PRECONDITION_FAILED = 412  # the lease is held by someone else (qca-sdk has no class for it)
LIVE_STATES = frozenset({"starting", "active", "stopping"})


class LeaseLostError(Exception):
    """The server says the lease is no longer ours."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def still_ours(current: WorkItem, acknowledged_at: str | None, expected: str) -> bool:
    """Whether ``current`` (read after a 412) is still the lease we acquired with our ack."""
    if current.state not in LIVE_STATES or acknowledged_at is None:
        return False
    if current.acknowledged_at is None or current.latest_heartbeat_at is None:
        return False
    if parse_ts(current.acknowledged_at) != parse_ts(acknowledged_at):
        return False
    if expected == NO_HEARTBEAT:
        return True
    return parse_ts(current.latest_heartbeat_at) >= parse_ts(expected)


def _same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return parse_ts(a) == parse_ts(b)


class LeaseKeeper:
    """Keeps the lease of one acknowledged item until cancelled or lost.

    ``monotonic`` and ``sleep`` are the keeper's clock (tests pass a virtual one).

    Sets ``active`` after the first successful heartbeat; on ``state: "stopping"`` calls
    ``signals.request_stop("requested")``; when the lease is lost sets
    ``signals.lease_lost`` with the reason and returns.
    """

    def __init__(
        self,
        client: AsyncClient,
        item: WorkItem,
        *,
        ttl: int,
        signals: ItemSignals,
        log: StatusLog,
        acquired_at: float,
        check_every: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._item = item
        self._ttl = ttl
        self._signals = signals
        self._log = log
        self._monotonic = monotonic
        self._sleep = sleep
        self.timer = LeaseTimer.start(acquired_at, ttl)
        self.expected = NO_HEARTBEAT
        self.state = item.state
        self.active = asyncio.Event()
        self._check_every = check_every or None

    async def run(self) -> None:
        """Heartbeat until cancelled or until the lease is lost."""
        while True:
            await self._until_next_beat()
            sent_at = self._monotonic()
            if self.timer.expired(sent_at):
                self._lose(f"no successful heartbeat for {self.timer.ttl:g}s")
                return
            try:
                result = await asyncio.wait_for(self._beat(), self.timer.deadline - sent_at)
            except LeaseLostError as lost:
                self._lose(lost.reason)
                return
            except Exception as exc:  # transient: connection, 5xx, timeout; retried until deadline
                self._failed(exc)
                continue
            self._succeeded(result, sent_at)

    async def _until_next_beat(self) -> None:
        """Wait until the next heartbeat is due, or until a stop check finds the item changed."""
        while (delay := self.timer.next_at - self._monotonic()) > 0:
            if self._check_every is None or not self.active.is_set():
                await self._sleep(delay)
                return
            await self._sleep(min(delay, self._check_every))
            if self.timer.next_at > self._monotonic() and await self._changed():
                return

    async def _changed(self) -> bool:
        """Whether the item is no longer as our last heartbeat left it (read errors: no)."""
        try:
            current = await self._client.work.retrieve(self._item.environment_id, self._item.id)
        except NotFoundError:
            return True
        except Exception:  # transient; the heartbeat is what decides
            return False
        return current.state != self.state or not _same_instant(
            current.acknowledged_at, self._item.acknowledged_at
        )

    def _succeeded(self, result: HeartbeatResult, sent_at: float) -> None:
        if self.timer.failures:
            self._log.heartbeat_recovered(self._item.id, self.timer.failures)
        self.timer.succeeded(sent_at, result.ttl_seconds or None)
        self.expected = result.last_heartbeat
        self.state = result.state
        self.active.set()
        if result.state == "stopping" and self._signals.request_stop("requested"):
            self._log.stopping(self._item.id, "requested")

    def _failed(self, error: Exception) -> None:
        now = self._monotonic()
        retry_in = self.timer.failed(now)
        self._log.heartbeat_failed(self._item.id, error, retry_in, self.timer.deadline - now)

    def _lose(self, reason: str) -> None:
        self._signals.lose_lease(reason)

    async def _beat(self) -> HeartbeatResult:
        try:
            return await self._send()
        except APIStatusError as exc:
            if exc.status_code != _PRECONDITION_FAILED:
                raise
            if not await self._still_ours():
                raise LeaseLostError(describe_error(exc)) from exc
        try:
            return await self._send()
        except APIStatusError as exc:
            if exc.status_code != _PRECONDITION_FAILED:
                raise
            raise LeaseLostError(describe_error(exc)) from exc

    async def _send(self) -> HeartbeatResult:
        try:
            return await self._client.work.heartbeat(
                self._item.environment_id,
                self._item.id,
                expected_last_heartbeat=self.expected,
                desired_ttl_seconds=self._ttl,
            )
        except (ConflictError, NotFoundError) as exc:
            raise LeaseLostError(describe_error(exc)) from exc

    async def _still_ours(self) -> bool:
        current = await self._client.work.retrieve(self._item.environment_id, self._item.id)
        if not still_ours(current, self._item.acknowledged_at, self.expected):
            return False
        assert current.latest_heartbeat_at is not None  # checked by still_ours
        self.expected = current.latest_heartbeat_at
        return True
