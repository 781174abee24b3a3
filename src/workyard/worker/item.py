"""One work item's life in the worker: ack, lease, session, handler, metadata, stop.

Order of calls: ack (with the polling ``Worker-ID``) → heartbeat ``NO_HEARTBEAT`` (before anything
slow) → ``GET /sessions/{id}`` → the handler, while the lease keeper heartbeats in its own task →
merge ``worker_id`` and ``exit_code`` into the item's metadata → graceful stop → confirming stop.
When the lease is lost at any point the handler is cancelled at once and the item is left alone:
it may already belong to another worker, and a stop is not fenced.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from workyard.client import (
    APIConnectionError,
    APIError,
    AsyncClient,
    InternalServerError,
    OverloadedError,
    RateLimitError,
    Session,
    WorkItem,
)
from workyard.worker.backoff import Backoff
from workyard.worker.context import Handler, ItemSignals, WorkContext, WorkerStats, wait_event
from workyard.worker.lease import LeaseKeeper
from workyard.worker.logs import StatusLog

__all__ = ["TRANSIENT_ERRORS", "ItemRun", "ItemSettings", "Outcome"]

T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[APIError], ...] = (
    APIConnectionError,
    InternalServerError,
    OverloadedError,
    RateLimitError,
)
_ACK_ATTEMPTS = 5
_CALL_BACKOFF = Backoff(initial=0.5, cap=10.0)
_METADATA_ERROR_CHARS = 500


class _Abandoned(Exception):
    """The lease was lost while the run was waiting to retry a call."""


@dataclass(frozen=True)
class ItemSettings:
    """What every item run of one worker shares."""

    client: AsyncClient
    worker_id: str
    handler: Handler
    ttl: int
    log: StatusLog
    lease_lost_action: str = "cancelled the handler"
    backoff: Backoff = _CALL_BACKOFF
    stop_check: float = 0.0
    stats: WorkerStats = field(default_factory=WorkerStats)


@dataclass(frozen=True)
class Outcome:
    """How the handler ended: an exit code, or the error it raised."""

    exit_code: int | None = None
    error: BaseException | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def metadata(self, worker_id: str) -> dict[str, str | None]:
        patch: dict[str, str | None] = {**self.extra, "worker_id": worker_id}
        if self.exit_code is not None:
            patch["exit_code"] = str(self.exit_code)
        if self.error is not None:
            patch["error"] = f"{type(self.error).__name__}: {self.error}"[:_METADATA_ERROR_CHARS]
        return patch


class ItemRun:
    """Runs one delivered item to its end; :meth:`run` never raises (except cancellation)."""

    def __init__(self, settings: ItemSettings, item: WorkItem) -> None:
        self.settings = settings
        self.item = item
        self.signals = ItemSignals()
        self._log = settings.log

    def request_stop(self, reason: str) -> None:
        """Ask the handler to wind down (the worker is shutting down, for example)."""
        if self.signals.request_stop(reason):
            self._log.stopping(self.item.id, reason)

    def close_input(self) -> None:
        """End the handler's input now (the worker is shutting down)."""
        self.signals.input_closed.set()

    async def run(self) -> bool:
        """Handle the item; True when it was acknowledged (whatever happened next)."""
        started = time.monotonic()
        acked = await self._ack()
        if acked is None:
            return False
        self.settings.stats.acked += 1
        self._log.acked(acked.id, acked.session_id)
        keeper = LeaseKeeper(
            self.settings.client,
            acked,
            ttl=self.settings.ttl,
            check_every=self.settings.stop_check,
            signals=self.signals,
            log=self._log,
            acquired_at=started,
        )
        beating = asyncio.create_task(keeper.run(), name=f"heartbeat {acked.id}")
        try:
            await self._lifecycle(acked, keeper, started)
        except _Abandoned:
            done = self.signals.closed
            self._lease_lost("the handler had finished" if done else "the handler was not started")
        except Exception as exc:  # a bug or an unexpected answer: log it, leave the item
            self._log.failed(acked.id, "worker", exc)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        return True

    async def _ack(self) -> WorkItem | None:
        work = self.settings.client.work
        for attempt in range(_ACK_ATTEMPTS):
            try:
                return await work.ack(
                    self.item.environment_id, self.item.id, worker_id=self.settings.worker_id
                )
            except TRANSIENT_ERRORS as exc:
                if attempt + 1 == _ACK_ATTEMPTS:
                    self._log.failed(self.item.id, "ack", exc)
                    return None
                await asyncio.sleep(self.settings.backoff.delay(attempt))
            except APIError as exc:
                self._log.ack_refused(self.item.id, exc)
                return None
        return None

    async def _lifecycle(self, item: WorkItem, keeper: LeaseKeeper, started: float) -> None:
        await _first_set(keeper.active, self.signals.lease_lost)
        if self.signals.lease_lost.is_set():
            self._lease_lost("the handler was not started")
            return
        self._log.active(item.id)
        outcome = await self._prepare_and_handle(item)
        if self.signals.lease_lost.is_set():
            self._lease_lost(self.settings.lease_lost_action)
            return
        self.signals.closed = True
        await self._finish(item, outcome, started)

    async def _prepare_and_handle(self, item: WorkItem) -> Outcome:
        client = self.settings.client
        try:
            session = await self._retrying(
                lambda: client.sessions.retrieve(_session_id(item)), "reading the session"
            )
        except (APIError, ValueError) as exc:
            self._log.failed(item.id, "reading the session", exc)
            return Outcome(error=exc)
        if self.signals.stopping.is_set():
            return Outcome()  # stopped before the handler started: nothing to run
        return await self._handle(item, session)

    async def _handle(self, item: WorkItem, session: Session) -> Outcome:
        ctx = WorkContext(
            client=self.settings.client,
            item=item,
            session=session,
            worker_id=self.settings.worker_id,
            signals=self.signals,
            log=self._log,
        )
        task = asyncio.create_task(self._call_handler(ctx), name=f"handler {item.id}")
        try:
            await _first_done(task, self.signals.lease_lost)
        finally:
            if not task.done():
                task.cancel()
            await asyncio.wait([task])
        extra = dict(ctx.extra_metadata)
        if task.cancelled():
            return Outcome(extra=extra)
        error = task.exception()
        if error is not None:
            self._log.failed(item.id, "handler", error)
            return Outcome(error=error, extra=extra)
        return Outcome(exit_code=task.result(), extra=extra)

    async def _call_handler(self, ctx: WorkContext) -> int | None:
        return await self.settings.handler(ctx)

    async def _finish(self, item: WorkItem, outcome: Outcome, started: float) -> None:
        work, env = self.settings.client.work, item.environment_id
        patch = outcome.metadata(self.settings.worker_id)
        try:
            await self._retrying(lambda: work.update(env, item.id, patch), "recording metadata")
            stopped = await self._retrying(lambda: work.stop(env, item.id), "stopping")
            if stopped.state != "stopped":
                stopped = await self._retrying(lambda: work.stop(env, item.id), "confirming stop")
        except APIError as exc:
            self._log.failed(item.id, "stopping the item", exc)
            return
        self._log.stopped(item.id, outcome.exit_code, time.monotonic() - started)

    async def _retrying(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        """``call()``, retried on transient errors until it succeeds or the lease is lost."""
        attempt = 0
        while True:
            if self.signals.lease_lost.is_set():
                raise _Abandoned
            try:
                return await call()
            except TRANSIENT_ERRORS as exc:
                delay = self.settings.backoff.delay(attempt)
                attempt += 1
                self._log.retrying(self.item.id, what, exc, delay)
                await wait_event(self.signals.lease_lost, delay)

    def _lease_lost(self, action: str) -> None:
        reason = self.signals.lease_lost_reason or "unknown reason"
        self.settings.stats.lease_losses += 1
        self._log.lease_lost(self.item.id, reason, action)


def _session_id(item: WorkItem) -> str:
    session_id = item.session_id
    if session_id is None:
        raise ValueError(f"the work item does not name a session: data={item.data!r}")
    return session_id


async def _first_set(*events: asyncio.Event) -> None:
    """Wait until one of ``events`` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _first_done(task: asyncio.Task[T], event: asyncio.Event) -> None:
    """Wait until ``task`` finishes or ``event`` is set."""
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
