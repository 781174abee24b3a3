"""Metrics of the queue itself: transitions, expiries, fencing, wait and run times, in-flight
long polls and streams, the oldest queued item, process and build facts.

Counters count what *this* server committed (each change is committed by exactly one replica), so
they sum correctly across replicas.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from workyard import __version__
from workyard.clock import Instant
from workyard.domain.models import WorkItem, WorkState
from workyard.errors import ConflictError, PreconditionFailedError, WorkyardError
from workyard.service.queue import WorkQueue
from workyard.service.retention import PRUNED

__all__ = ["InFlight", "QueueMetrics", "fencing_rejected"]

T = TypeVar("T")
_US = 1_000_000
# Queue wait and run time: from a second to a day.
_DURATION_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400)
_LEASED = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)
_OPERATIONS = {"ack", "heartbeat", "stop"}


class InFlight:
    """A gauge of requests in progress; ``around`` counts one awaitable, ``track`` a response."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge

    async def around(self, awaitable: Awaitable[T]) -> T:
        self.gauge.inc()
        try:
            return await awaitable
        finally:
            self.gauge.dec()

    def track(self, response: Response) -> Response:
        return _TrackedResponse(response, self)


class _TrackedResponse(Response):
    def __init__(self, inner: Response, in_flight: InFlight) -> None:
        self._inner = inner
        self._in_flight = in_flight
        self.status_code = inner.status_code
        self.background = inner.background
        self.raw_headers = inner.raw_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._in_flight.around(self._inner(scope, receive, send))


class QueueMetrics:
    """Registered on one app's registry; observes the commits of its ``WorkQueue``."""

    def __init__(self, queue: WorkQueue, registry: CollectorRegistry) -> None:
        self._queue = queue
        self.transitions = Counter(
            "workyard_work_transitions",
            "Work item state changes committed by this server (from 'none': created)",
            ["from_state", "to_state"],
            registry=registry,
        )
        self.expirations = Counter(
            "workyard_work_lease_expirations",
            "Leases that expired, by the state that held them",
            ["state"],
            registry=registry,
        )
        self.redeliveries = Counter(
            "workyard_work_redeliveries",
            "Work items put back in the queue after a delivery (an ack or heartbeat lease expired)",
            registry=registry,
        )
        self.fencing = Counter(
            "workyard_work_fencing_rejections",
            "Work operations refused with 409 (wrong worker or state) or 412 (stale heartbeat)",
            ["operation", "status"],
            registry=registry,
        )
        self.queue_wait = Histogram(
            "workyard_work_queue_wait_seconds",
            "From a work item's creation to its ack",
            ["environment_id"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.run_time = Histogram(
            "workyard_work_run_seconds",
            "From a work item's ack to its stop",
            ["environment_id"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.polls = InFlight(
            Gauge("workyard_polls_in_flight", "Work polls in progress (blocked long polls)",
                  registry=registry)
        )  # fmt: skip
        self.streams = InFlight(
            Gauge("workyard_event_streams_open", "Open session event streams (SSE)",
                  registry=registry)
        )  # fmt: skip
        Info("workyard_build", "The running workyard", registry=registry).info(
            {"version": __version__}
        )
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self._oldest: dict[str, float] = {}
        registry.register(_OldestCollector(self._oldest))
        registry.register(_PrunedCollector(PRUNED))
        queue.observers.append(self.observe)

    def observe(self, before: WorkItem | None, after: WorkItem | None) -> None:
        """One committed change (called by ``WorkQueue.commit``)."""
        old = "none" if before is None else before.state.value
        new = "deleted" if after is None else after.state.value
        if old != new:
            self.transitions.labels(old, new).inc()
        if before is None or after is None:
            return
        now = self._queue.clock.now()
        if before.state in _LEASED and _expired(before, now) and after.lease_expires_at is None:
            self.expirations.labels(before.state.value).inc()
            if after.state is WorkState.QUEUED:
                self.redeliveries.inc()
        if before.state is WorkState.QUEUED and after.acknowledged_at is not None:
            waited = (after.acknowledged_at - after.created_at) / _US
            self.queue_wait.labels(after.environment_id).observe(max(waited, 0.0))
        if after.state is WorkState.STOPPED and old != new and before.acknowledged_at is not None:
            ran = ((after.stopped_at or now) - before.acknowledged_at) / _US
            self.run_time.labels(after.environment_id).observe(max(ran, 0.0))

    def rejected(self, operation: str, error: WorkyardError) -> None:
        self.fencing.labels(operation, str(error.status)).inc()

    async def refresh(self) -> None:
        """Read the oldest queued item per environment (one indexed query each), before a scrape."""
        now = self._queue.clock.now()
        oldest: dict[str, float] = {}
        for env_id, _, _ in self._queue.index.environment_counts():
            created = await self._queue.store.oldest_queued_created_at(env_id)
            if created is not None:
                oldest[env_id] = max(now - created, 0) / _US
        self._oldest.clear()
        self._oldest.update(oldest)


def _expired(item: WorkItem, now: Instant) -> bool:
    return item.lease_expires_at is not None and item.lease_expires_at <= now


class _OldestCollector(Collector):
    def __init__(self, oldest: dict[str, float]) -> None:
        self._oldest = oldest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "workyard_queue_oldest_age_seconds",
            "Age of the oldest queued work item",
            labels=["environment_id"],
        )
        for env_id, age in sorted(self._oldest.items()):
            gauge.add_metric([env_id], age)
        yield gauge


def fencing_rejected(metrics: QueueMetrics, path: str, error: WorkyardError) -> None:
    """Count a 409/412 answered to a work operation (ack, heartbeat, stop, update)."""
    if not isinstance(error, ConflictError | PreconditionFailedError):
        return
    if "/work/" not in path:
        return
    last = path.rstrip("/").rsplit("/", 1)[-1]
    operation = last if last in _OPERATIONS else "update"
    metrics.rejected(operation, error)


class _PrunedCollector(Collector):
    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        counter = CounterMetricFamily(
            "workyard_pruned_rows", "Rows deleted by retention", labels=["table"]
        )
        for table, n in sorted(self._counts.items()):
            counter.add_metric([table], n)
        yield counter
