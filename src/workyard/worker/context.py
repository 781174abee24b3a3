"""What a handler sees while it runs one work item, and the signals the worker raises for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from workyard.client import AsyncClient, Session, WorkItem
from workyard.worker.logs import StatusLog

__all__ = ["Handler", "ItemSignals", "WorkContext", "WorkerStats", "wait_event"]


class WorkerStats:
    """Counters of one worker, for its log and its metrics (``--health-addr``)."""

    def __init__(self) -> None:
        self.acked = 0  # items acknowledged (each counts as handled, whatever happened next)
        self.done = 0  # item runs that ended (acknowledged ones)
        self.lease_losses = 0
        self.poll_errors = 0
        self.last_poll_ok: float | None = None  # time.time() of the last successful poll


async def wait_event(event: asyncio.Event, seconds: float | None = None) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True when it is set."""
    if event.is_set():
        return True
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return event.is_set()
    return True


class ItemSignals:
    """The two ways an item's run can be cut short, each set once with its reason.

    ``stopping``: finish soon (a stop was requested, or the worker is shutting down).
    ``lease_lost``: the item may already belong to another worker; stop touching it at once.
    """

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.lease_lost = asyncio.Event()
        self.input_closed = asyncio.Event()  # the worker is shutting down: end the input now
        self.stop_reason: str | None = None
        self.lease_lost_reason: str | None = None
        self.closed = False  # the handler has returned: later stop requests change nothing

    def request_stop(self, reason: str) -> bool:
        """Set ``stopping``; False when it was already set or the run is past its handler."""
        if self.closed or self.stopping.is_set():
            return False
        self.stop_reason = reason
        self.stopping.set()
        return True

    def lose_lease(self, reason: str) -> bool:
        """Set ``lease_lost``; False when it was already set."""
        if self.lease_lost.is_set():
            return False
        self.lease_lost_reason = reason
        self.lease_lost.set()
        return True


class WorkContext:
    """One running work item, as given to a handler.

    - ``item``: the work item (as acknowledged; refreshed by :meth:`update_metadata`).
    - ``session``: the session it runs (``GET /sessions/{id}``; ``session.raw`` is its JSON).
    - ``stopping``: set when a stop was requested (``stop_reason`` says ``requested`` or
      ``shutdown``); the handler should wind down and return soon.
    - ``lease_lost``: set when the lease is lost; the worker then cancels the handler at once.
    - ``client``: the worker's :class:`AsyncClient` (to post session events, for example).
    - ``add_metadata(key, value)``: merged into the item's metadata with its exit code.
    """

    def __init__(
        self,
        *,
        client: AsyncClient,
        item: WorkItem,
        session: Session,
        worker_id: str,
        signals: ItemSignals,
        log: StatusLog,
    ) -> None:
        self.client = client
        self.item = item
        self.session = session
        self.worker_id = worker_id
        self.log = log
        self.extra_metadata: dict[str, str] = {}
        self._signals = signals

    @property
    def work_id(self) -> str:
        return self.item.id

    @property
    def environment_id(self) -> str:
        return self.item.environment_id

    @property
    def stopping(self) -> asyncio.Event:
        return self._signals.stopping

    @property
    def stop_reason(self) -> str | None:
        return self._signals.stop_reason

    @property
    def lease_lost(self) -> asyncio.Event:
        return self._signals.lease_lost

    @property
    def input_closed(self) -> asyncio.Event:
        """Set when the worker starts shutting down: close the command's input at once."""
        return self._signals.input_closed

    def add_metadata(self, key: str, value: str) -> None:
        """Merge ``key: value`` into the metadata recorded when the item ends."""
        self.extra_metadata[key] = value

    async def update_metadata(self, patch: Mapping[str, str | None]) -> WorkItem:
        """Merge-patch the item's metadata (``None`` deletes a key); returns the updated item."""
        self.item = await self.client.work.update(self.environment_id, self.work_id, patch)
        return self.item

    def output(self, stream: str, line: str) -> None:
        """Write one line of the handler's output to the worker's log, prefixed with the id."""
        self.log.output(self.work_id, stream, line)


Handler = Callable[[WorkContext], Awaitable[int | None]]
"""An async callable that runs one item; it may return an exit code (recorded as metadata)."""
