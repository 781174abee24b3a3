"""spec/sessions.md "Reading": events appended on any replica reach every stream (PostgreSQL).

Two ``workyard serve`` replicas share one schema. The keep-alive interval is longer than the
client's read timeout, so a stream that was not woken by the change feed would time out instead
of catching up on a periodic re-read. The latency test prints p50/p99 but asserts only that every
event arrived, in order (figures belong to the benchmark).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerProcess, replicas_on_postgres
from tests.e2e.sse_support import Frame, api_client, append, listed, new_session, open_stream

KEEPALIVE = 60.0  # never within a test's 10 s read timeout


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    environ = {"WORKYARD_SSE_KEEPALIVE_SECONDS": str(KEEPALIVE)}
    with replicas_on_postgres([tmp_path / "a", tmp_path / "b"], environ=environ) as (a, b):
        yield a, b


def test_events_appended_on_one_replica_reach_a_stream_on_another(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = replicas
    count = 50
    with api_client(a) as http_a, api_client(b) as http_b:
        sid = new_session(http_a)["id"]
        ready = append(http_a, sid, "ready")
        arrived: list[tuple[Frame, float]] = []
        changed = threading.Condition()

        def follow() -> None:
            with open_stream(http_a, sid) as stream:
                while len(arrived) < count + 1:
                    frame = stream.next()
                    assert frame is not None and frame.id is not None, frame
                    with changed:
                        arrived.append((frame, time.monotonic()))
                        changed.notify_all()

        def wait_for(n: int) -> None:
            with changed:
                assert changed.wait_for(lambda: len(arrived) >= n, timeout=15), len(arrived)

        latencies: list[float] = []  # from the POST returning (0 when the event came first)
        round_trips: list[float] = []  # from the POST being sent
        sent: list[str] = []
        with ThreadPoolExecutor(1) as pool:
            reader = pool.submit(follow)
            wait_for(1)  # the stream is open on A and past its history
            for n in range(count):
                posted = time.monotonic()
                created = append(http_b, sid, f"m{n}")
                returned = time.monotonic()
                sent.append(created[0]["id"])
                wait_for(n + 2)
                latencies.append(max(0.0, arrived[n + 1][1] - returned))
                round_trips.append(arrived[n + 1][1] - posted)
            reader.result(timeout=15)
        assert [f.id for f, _ in arrived] == [ready[0]["id"], *sent]
        assert [f.data["content"][0]["text"] for f, _ in arrived[1:] if f.data] == [
            f"m{n}" for n in range(count)
        ]
        assert [e["id"] for e in listed(http_b, sid)] == [f.id for f, _ in arrived]
    for name, values in (
        ("after the POST returned", latencies),
        ("after it was sent", round_trips),
    ):
        ms = sorted(x * 1000 for x in values)
        p99 = ms[min(len(ms) - 1, round(0.99 * len(ms)) - 1)]
        print(
            f"cross-replica SSE latency, {count} appends, {name}: "
            f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"
        )
