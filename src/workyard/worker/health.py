"""``--health-addr HOST:PORT``: ``/healthz`` and Prometheus metrics of one worker.

``GET /healthz`` answers ``200 {"status": "ok", …}`` while the worker takes work and ``503
{"status": "draining", …}`` once it is shutting down; ``GET /metrics`` is the Prometheus text
format: items running and handled, lease losses, poll errors, the time of the last successful
poll. A tiny asyncio HTTP/1.0 server in the worker's event loop: it reads one request line and its
headers, answers, and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from workyard.worker.runtime import Worker

__all__ = ["HealthServer", "parse_addr"]

_READ_TIMEOUT = 5.0
_MAX_HEAD = 16 * 1024
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def parse_addr(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100``, ``:9100`` for every interface); ValueError if malformed."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--health-addr {value!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


class _WorkerCollector(Collector):
    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    def collect(self) -> Iterator[Metric]:
        worker, stats = self._worker, self._worker.stats
        labels = ["environment_id", "worker_id"]
        values = [worker.environment_id, worker.worker_id]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        yield gauge("workyard_worker_items_running", "Items being handled now.", worker.running)
        yield gauge(
            "workyard_worker_concurrency", "Items the worker runs at most.", worker.concurrency
        )
        yield counter("workyard_worker_items_acked", "Items acknowledged.", stats.acked)
        yield counter("workyard_worker_items_done", "Item runs that ended.", stats.done)
        yield counter("workyard_worker_lease_losses", "Leases lost.", stats.lease_losses)
        yield counter("workyard_worker_poll_errors", "Polls that failed.", stats.poll_errors)
        yield gauge(
            "workyard_worker_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful poll (0: none yet).",
            stats.last_poll_ok or 0.0,
        )
        yield gauge("workyard_worker_draining", "1 once shutting down.", int(worker.shutting_down))


class HealthServer:
    """Serves ``worker``'s health and metrics on ``host:port`` (port 0: any free port)."""

    def __init__(self, worker: Worker, host: str, port: int) -> None:
        self.worker = worker
        self.host = host
        self.port = port
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_WorkerCollector(worker))
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen (raises ``OSError`` when the address cannot be bound)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def health(self) -> tuple[int, bytes]:
        worker, stats = self.worker, self.worker.stats
        draining = worker.shutting_down
        body = {
            "status": "draining" if draining else "ok",
            "worker_id": worker.worker_id,
            "running": worker.running,
            "handled": worker.handled,
            "last_successful_poll": stats.last_poll_ok,
        }
        return (503 if draining else 200), json.dumps(body).encode() + b"\n"

    def answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if method not in {"GET", "HEAD"}:
            return 405, "text/plain", b"method not allowed\n"
        if path == "/healthz":
            status, body = self.health()
            return status, "application/json", body
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", generate_latest(self.registry)
        return 404, "text/plain", b"not found: try /healthz or /metrics\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            parts = head[:_MAX_HEAD].split(b"\r\n", 1)[0].decode("latin-1").split()
            method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
            status, kind, body = self.answer(method, path)
            reason = _REASONS.get(status, "Error")
            writer.write(
                f"HTTP/1.0 {status} {reason}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
