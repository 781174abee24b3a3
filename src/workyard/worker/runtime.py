"""The worker: polls an environment's queue and runs each item with a handler.

```python
import asyncio
from workyard.client import AsyncClient
from workyard.worker import Worker, WorkContext

async def handle(ctx: WorkContext) -> int:
    print("running", ctx.session.title)
    return 0

async def main() -> None:
    async with AsyncClient("http://127.0.0.1:8080", token="pt-…") as client:
        await Worker(client, "env_…", handle, concurrency=4).run()

asyncio.run(main())
```

Polls use ``block_ms=999`` and start again at once when they come back empty; errors back off
exponentially with jitter, up to 30 s. A slot is taken before each poll, so the worker never
receives more items than ``concurrency`` allows it to run.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time

import httpx

from workyard.client import APIStatusError, AsyncClient, WorkItem
from workyard.worker.backoff import Backoff
from workyard.worker.context import Handler, WorkerStats, wait_event
from workyard.worker.item import ItemRun, ItemSettings
from workyard.worker.logs import StatusLog

__all__ = [
    "CLIENT_TIMEOUT",
    "DEFAULT_BLOCK_MS",
    "POLL_BACKOFF",
    "Worker",
    "default_worker_id",
]

DEFAULT_BLOCK_MS = 999
POLL_BACKOFF = Backoff(initial=0.5, factor=2.0, cap=30.0)
# The worker's SDK timeout: polls block under a second and every other call is short, so a wedged
# server is given up on after a minute (the SDK's own default, as qca-sdk's, waits 600 s to read).
CLIENT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# Answers to a poll that retrying cannot fix: a bad option, token, permission or environment.
# (Other 4xx, e.g. a proxy's 408, are retried like connection errors and 5xx.)
_FATAL_POLL_STATUSES = frozenset({400, 401, 403, 404})
_MAX_WORKER_ID = 128


def default_worker_id() -> str:
    """``<hostname>-<6 random hex digits>``: unique per process, recognisable in logs."""
    host = "".join(c for c in socket.gethostname() if c.isprintable() and not c.isspace())
    return f"{host[:100] or 'worker'}-{secrets.token_hex(3)}"


class Worker:
    """Polls ``environment_id`` and runs up to ``concurrency`` items at once with ``handler``.

    ``ttl``: the lease asked for in each heartbeat (heartbeats go every ``ttl / 3``). ``grace``:
    on shutdown, how long running handlers may go on before their ``stopping`` event is set.
    ``stop_check``: seconds between reads of each running item that bring a requested stop to the
    handler before the next heartbeat (0: heartbeats only).
    ``once``: handle one item, then return (``max_items``: N items). ``until_empty``: return when
    a poll comes back empty and nothing runs. ``max_idle``: return after that many seconds with
    nothing running and nothing delivered. :meth:`request_shutdown` stops polling (a second call,
    or ``force=True``, cancels every handler at once).
    """

    def __init__(
        self,
        client: AsyncClient,
        environment_id: str,
        handler: Handler,
        *,
        concurrency: int = 1,
        ttl: int = 60,
        worker_id: str | None = None,
        grace: float = 30.0,
        stop_check: float = 5.0,
        once: bool = False,
        until_empty: bool = False,
        log: StatusLog | None = None,
        block_ms: int = DEFAULT_BLOCK_MS,
        max_items: int | None = None,
        max_idle: float | None = None,
    ) -> None:
        _check(concurrency >= 1, "concurrency must be at least 1")
        _check(10 <= ttl <= 600, "ttl must be between 10 and 600 seconds")
        _check(grace >= 0, "grace must not be negative")
        _check(stop_check >= 0, "stop_check must not be negative")
        _check(1 <= block_ms <= 999, "block_ms must be between 1 and 999")
        _check(not (once and until_empty), "once and until_empty exclude each other")
        _check(max_items is None or max_items >= 1, "max_items must be at least 1")
        _check(max_idle is None or max_idle > 0, "max_idle must be positive")
        self.client = client
        self.environment_id = environment_id
        self.worker_id = worker_id or default_worker_id()
        _check(
            len(self.worker_id) <= _MAX_WORKER_ID and self.worker_id.isprintable(),
            "worker_id must be 1-128 printable characters",
        )
        self.concurrency = concurrency
        self.ttl = ttl
        self.grace = grace
        self.once = once
        self.max_items = 1 if once else max_items
        self.max_idle = max_idle
        self.until_empty = until_empty
        self.block_ms = block_ms
        self.log = log or StatusLog()
        action = str(getattr(handler, "lease_lost_action", "cancelled the handler"))
        self.stats = WorkerStats()
        self._settings = ItemSettings(
            client,
            self.worker_id,
            handler,
            ttl,
            self.log,
            action,
            stop_check=stop_check,
            stats=self.stats,
        )
        self._runs: dict[asyncio.Task[bool], ItemRun] = {}
        self._slot_freed = asyncio.Event()
        self._shutdown = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self.forced = False
        self.fatal_error: APIStatusError | None = None
        self.shutting_down = False
        self._idle_since = time.monotonic()

    @property
    def handled(self) -> int:
        """How many items were acknowledged so far (whatever happened to them next)."""
        return self.stats.acked

    @property
    def running(self) -> int:
        """How many items are being handled now."""
        return len(self._runs)

    def request_shutdown(self, *, force: bool = False) -> None:
        """Stop polling and drain (the first time); kill everything at once (the second time)."""
        if force or self._shutdown.is_set():
            self._force()
            return
        self._shutdown.set()

    async def run(self) -> None:
        """Poll and handle items until shut down (or ``once`` / ``until_empty`` is satisfied).

        Raises the poll's error when the server refuses it for good (401, 403, 404, 400), after
        draining the items already running.
        """
        self.log.started(
            self.worker_id, self.environment_id, self.concurrency, self.ttl, self.grace
        )
        poller = self._poller = asyncio.create_task(self._poll_loop(), name="workyard-poll")
        watcher = asyncio.create_task(self._shutdown_watch(), name="workyard-shutdown")
        try:
            await asyncio.wait([poller])
            if not poller.cancelled():
                poller.result()  # re-raise a bug in the loop instead of hiding it
            while self._runs:
                await asyncio.wait(list(self._runs))
        finally:
            watcher.cancel()
            await self._cancel_all()
        self.log.exited(self.handled)
        if self.fatal_error is not None:
            raise self.fatal_error

    # polling -----------------------------------------------------------------------------------
    async def _poll_loop(self) -> None:
        failures = 0
        while await self._wait_for_slot():
            if self._idle_too_long():
                return
            try:
                answered, item = await self._poll()
            except Exception as exc:  # connection errors, 5xx, 429, a proxy's page: back off
                if isinstance(exc, APIStatusError) and exc.status_code in _FATAL_POLL_STATUSES:
                    self.fatal_error = exc
                    self.log.fatal(exc)
                    self.request_shutdown()
                    return
                failures = await self._back_off(exc, failures)
                continue
            if not answered:
                return  # cut short by a shutdown: neither a success nor a failure
            self.stats.last_poll_ok = time.time()
            if failures:
                self.log.poll_recovered(failures)
                failures = 0
            if self._shutdown.is_set():
                return  # an item delivered now is redelivered after its delivery window
            if item is None:
                if self.until_empty and not self._runs:
                    return
                continue
            self._spawn(item)
            if await self._enough_items():
                return

    def _idle_too_long(self) -> bool:
        """True (and logged) when ``max_idle`` seconds passed with nothing to do."""
        if self.max_idle is None or self._runs:
            return False
        idle = time.monotonic() - self._idle_since
        if idle < self.max_idle:
            return False
        self.log.idle_exit(self.max_idle)
        return True

    async def _enough_items(self) -> bool:
        """With ``max_items``: once that many are taken, wait for them; True when all were
        acknowledged (the worker is done), False when some ack failed (poll for more)."""
        if self.max_items is None or len(self._runs) + self.handled < self.max_items:
            return False
        while self._runs:
            await asyncio.wait(list(self._runs))
        if self.handled < self.max_items:
            return False
        if not self.once:
            self.log.max_items_reached(self.handled)
        return True

    async def _back_off(self, error: Exception, failures: int) -> int:
        """Log a failed poll and wait before the next one; returns the new failure count."""
        delay = POLL_BACKOFF.delay(failures)
        self.stats.poll_errors += 1
        self.log.poll_failed(error, delay)
        await wait_event(self._shutdown, delay)
        return failures + 1

    async def _poll(self) -> tuple[bool, WorkItem | None]:
        """One poll: ``(True, item or None)``, or ``(False, None)`` when a shutdown cut it
        short."""
        poll = asyncio.create_task(
            self.client.work.poll(
                self.environment_id, block_ms=self.block_ms, worker_id=self.worker_id
            )
        )
        stop = asyncio.create_task(self._shutdown.wait())
        try:
            await asyncio.wait([poll, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not poll.done():
                poll.cancel()
            await asyncio.wait([poll])
        return (False, None) if poll.cancelled() else (True, poll.result())

    async def _wait_for_slot(self) -> bool:
        """Wait until fewer than ``concurrency`` items run; False when shutting down."""
        while not self._shutdown.is_set() and len(self._runs) >= self.concurrency:
            self._slot_freed.clear()
            stop = asyncio.create_task(self._shutdown.wait())
            freed = asyncio.create_task(self._slot_freed.wait())
            try:
                await asyncio.wait([stop, freed], return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                freed.cancel()
        return not self._shutdown.is_set()

    def _spawn(self, item: WorkItem) -> asyncio.Task[bool]:
        run = ItemRun(self._settings, item)
        task = asyncio.create_task(run.run(), name=f"work {item.id}")
        self._runs[task] = run
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[bool]) -> None:
        self._runs.pop(task, None)
        if not task.cancelled() and task.exception() is None and task.result():
            self.stats.done += 1
        if not self._runs:
            self._idle_since = time.monotonic()
        self._slot_freed.set()

    # shutdown ----------------------------------------------------------------------------------
    async def _shutdown_watch(self) -> None:
        """On shutdown: give running items ``grace`` seconds, then set their ``stopping``."""
        await self._shutdown.wait()
        self.shutting_down = True
        self.log.shutting_down(len(self._runs), self.grace)
        for run in list(self._runs.values()):
            run.close_input()  # a conversational command ends when its input does
        if self._runs:
            await asyncio.wait(list(self._runs), timeout=self.grace)
        for run in list(self._runs.values()):
            run.request_stop("shutdown")

    def _force(self) -> None:
        if self.forced:
            return
        self.forced = True
        self._shutdown.set()
        self.log.forced(len(self._runs))
        if self._poller is not None:
            self._poller.cancel()
        for task in self._runs:
            task.cancel()

    async def _cancel_all(self) -> None:
        tasks = list(self._runs)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
