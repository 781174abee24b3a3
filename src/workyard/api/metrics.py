"""Prometheus metrics: request counts and latencies per route, queue gauges read on scrape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from workyard.api.queue_metrics import QueueMetrics
from workyard.service.queue import WorkQueue

__all__ = ["Metrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _QueueCollector(Collector):
    """Queue depth and in-flight work per environment, straight from the readiness index."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "workyard_queue_undelivered", "Queued items never delivered", labels=["environment_id"]
        )
        leased = GaugeMetricFamily(
            "workyard_queue_leased", "Items holding a lease", labels=["environment_id"]
        )
        for env_id, undelivered, leases in self._queue.index.environment_counts():
            depth.add_metric([env_id], undelivered)
            leased.add_metric([env_id], leases)
        yield depth
        yield leased


class Metrics:
    """One registry per app, so several apps (tests, replicas in one process) never collide.

    Label children are looked up once per (method, route, status) and cached: recording a
    request is a dict lookup and an increment. Long polls and event streams are counted but
    kept out of the latency histogram (they would only fill its top bucket).
    """

    def __init__(self, queue: WorkQueue, untimed_routes: frozenset[str] = frozenset()) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "workyard_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "workyard_http_request_duration_seconds",
            "HTTP request latency (long polls and event streams excluded)",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(queue))
        self.queue = QueueMetrics(queue, self.registry)
        self._untimed = untimed_routes
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[str, Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request; time it unless ``route`` is a long poll or a stream."""
        key = (method, route, status)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.requests.labels(method, route, str(status))
        counter.inc()
        if route in self._untimed:
            return
        histogram = self._timed.get(route)
        if histogram is None:
            histogram = self._timed[route] = self.latency.labels(route)
        histogram.observe(seconds)
