"""Dashboard pages: bytes and time of a heavy session page, and of deep and searched list pages.

    .venv/bin/python bench/dashboard_pages.py [--sessions 20000] [--events 100]

In-process (SQLite store, ASGI transport). A session holds ``--events`` events of 1 MiB each; an
environment holds ``--sessions`` sessions. Prints the session page's size and render time, its
2-second status refresh, and the environment page's first page, a page deep in the list (a keyset
cursor) and a title search matching one session in ten thousand.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

from workyard.api.app import create_app
from workyard.config import Settings
from workyard.domain.models import Session, TokenKind
from workyard.domain.pagination import encode_cursor
from workyard.service.container import build_services
from workyard.store.base import Insert

MIB = 1024 * 1024


async def _heap_peak_mib(ui: httpx.AsyncClient, path: str) -> float:
    """The Python heap's peak above its start while one page is rendered (``tracemalloc``)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        assert (await ui.get(path)).status_code == 200
        return (tracemalloc.get_traced_memory()[1] - base) / MIB
    finally:
        tracemalloc.stop()


async def _timed(
    ui: httpx.AsyncClient, path: str, runs: int = 5, **kw: object
) -> tuple[int, float]:
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = await ui.get(path, **kw)  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
        size = len(response.content)
    return size, statistics.median(times)


async def main(sessions: int, events: int) -> None:
    data = Path(tempfile.mkdtemp())
    svc = build_services(Settings(data_dir=data, manual_clock=True))
    await svc.start()
    _, token = await svc.tokens.create("bench", TokenKind.ADMIN, ())
    app = create_app(svc, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    api_headers = {"authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://b/api/v1/cloud",
                          headers=api_headers, timeout=120) as api,
        httpx.AsyncClient(transport=transport, base_url="http://b", timeout=120) as ui,
    ):  # fmt: skip
        await ui.post("/ui/login", data={"token": token})
        env = (
            await api.post(
                "/environments", json={"name": "bench", "config": {"type": "self_hosted"}}
            )
        ).json()
        heavy = (await api.post("/sessions", json={"environment_id": env["id"]})).json()
        body = "x" * MIB
        for start in range(0, events, 10):
            batch = [{"type": "user.message", "content": body}] * min(10, events - start)
            sent = await api.post(f"/sessions/{heavy['id']}/events", json={"events": batch})
            assert sent.status_code == 200
        size, ms = await _timed(ui, f"/ui/sessions/{heavy['id']}")
        peak = await _heap_peak_mib(ui, f"/ui/sessions/{heavy['id']}")
        print(f"session page, {events} events of 1 MiB: {size / 1024:.0f} KiB in {ms:.0f} ms "
              f"(heap peak while rendering: {peak:.0f} MiB)")  # fmt: skip
        size, ms = await _timed(
            ui, f"/ui/sessions/{heavy['id']}", headers={"x-workyard-partial": "status"}
        )
        print(f"  its 2 s status refresh: {size} bytes in {ms:.1f} ms")

        now = svc.clock.now()
        rows = [
            Session(f"sess_{n:032x}", env["id"], None,
                    "needle" if n % 10_000 == 1 else f"task {n}", {"n": str(n)}, None, None,
                    now, now)
            for n in range(1, sessions + 1)
        ]  # fmt: skip
        for start in range(0, len(rows), 1000):
            assert await svc.store.commit([Insert(r) for r in rows[start : start + 1000]])
        path = f"/ui/environments/{env['id']}"
        size, ms = await _timed(ui, path)
        print(f"environment page, {sessions} sessions: {size / 1024:.0f} KiB in {ms:.1f} ms")
        deep = encode_cursor("after", rows[len(rows) // 2].id)
        size, ms = await _timed(ui, f"{path}?state=all&sessions={deep}")
        print(f"  a page in the middle (keyset cursor): {size / 1024:.0f} KiB in {ms:.1f} ms")
        size, ms = await _timed(ui, f"{path}?title=needle")
        print(f"  title search (looks at 5,000 rows): {size / 1024:.0f} KiB in {ms:.1f} ms")
        size, ms = await _timed(ui, path, headers={"x-workyard-partial": "stats"})
        print(f"  its 2 s counters refresh: {size} bytes in {ms:.1f} ms")
    await svc.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.sessions, args.events))
