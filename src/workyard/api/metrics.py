"""Prometheus metrics: request counts and latencies per route, queue gauges read on scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workyard.api.queue_metrics import QueueMetrics
from workyard.service.queue import WorkQueue

__all__ = ["Metrics", "MetricsMiddleware"]

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
    """One registry per app, so several apps (tests, replicas in one process) never collide."""

    def __init__(self, queue: WorkQueue) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "workyard_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "workyard_http_request_duration_seconds",
            "HTTP request latency (long polls included)",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(queue))
        self.queue = QueueMetrics(queue, self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)
