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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from workyard.client import AsyncClient, HeartbeatResult, WorkItem
from workyard.clock import parse_ts
from workyard.errors import ConflictError, NotFoundError, PreconditionFailedError
from workyard.worker.backoff import LeaseTimer
from workyard.worker.context import ItemSignals
from workyard.worker.logs import StatusLog, describe_error

__all__ = ["LIVE_STATES", "NO_HEARTBEAT", "LeaseKeeper", "LeaseLostError", "still_ours"]

NO_HEARTBEAT = "NO_HEARTBEAT"
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
        self.active = asyncio.Event()

    async def run(self) -> None:
        """Heartbeat until cancelled or until the lease is lost."""
        while True:
            delay = self.timer.next_at - self._monotonic()
            if delay > 0:
                await self._sleep(delay)
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

    def _succeeded(self, result: HeartbeatResult, sent_at: float) -> None:
        if self.timer.failures:
            self._log.heartbeat_recovered(self._item.id, self.timer.failures)
        self.timer.succeeded(sent_at, result.ttl_seconds or None)
        self.expected = result.last_heartbeat
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
        except PreconditionFailedError as exc:
            if not await self._still_ours():
                raise LeaseLostError(describe_error(exc)) from exc
        try:
            return await self._send()
        except PreconditionFailedError as exc:
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
