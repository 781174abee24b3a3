"""Timestamp formatting on the hot path: per-call cost before and after remembering whole seconds,
and how many timestamps one lifecycle formats, measured side by side in one run.

    .venv/bin/python bench/timestamps.py [--lifecycles 200]

Runs ``--lifecycles`` lifecycles (create session → poll → ack → heartbeat → stop → stop) through
the ASGI app in process (SQLite, access log on), counting ``format_ts`` calls and log-line
timestamps; then times both formatters of each kind, old and new alternated, over the instants
those lifecycles formatted, and prints the CPU they save per lifecycle.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from workyard import clock, logs
from workyard.api import create_app, wire
from workyard.config import Settings
from workyard.domain.models import TokenKind
from workyard.service.container import build_services

_API = "http://bench/api/v1/cloud"


def old_format_ts(instant: int) -> str:
    """``format_ts`` before: a ``datetime`` and a ``strftime`` per call."""
    seconds, micros = divmod(instant, 1_000_000)
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{micros:06d}Z"


def old_timestamp(created: float) -> str:
    """The log lines' timestamp before: ``gmtime`` and ``strftime`` per line."""
    whole = int(created)
    millis = int((created - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


async def _lifecycles(count: int, instants: list[int], created: list[float]) -> None:
    new_format, new_timestamp = clock.format_ts, logs._timestamp

    def counting_format(instant: int) -> str:
        instants.append(instant)
        return new_format(instant)

    def counting_timestamp(value: float) -> str:
        created.append(value)
        return new_timestamp(value)

    with tempfile.TemporaryDirectory() as tmp:
        services = build_services(Settings(data_dir=Path(tmp)))
        await services.start()
        logging.getLogger(logs.ACCESS_LOGGER).setLevel(logging.INFO)
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(logs.TextFormatter())
        logging.getLogger(logs.ACCESS_LOGGER).addHandler(handler)
        try:
            _, token = await services.tokens.create("bench", TokenKind.ADMIN)
            app = create_app(services, manage_lifecycle=False)
            auth = {"authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=_API, headers=auth) as c:
                env = (
                    await c.post(
                        "/environments", json={"name": "b", "config": {"type": "self_hosted"}}
                    )
                ).json()["id"]
                _patch(counting_format, counting_timestamp)
                for _ in range(count):
                    await c.post("/sessions", json={"environment_id": env})
                    item = (await c.get(f"/environments/{env}/work/poll")).json()
                    base = f"/environments/{env}/work/{item['id']}"
                    for step in ("/ack", "/heartbeat", "/stop", "/stop"):
                        assert (await c.post(base + step)).status_code == 200
        finally:
            _patch(new_format, new_timestamp)
            logging.getLogger(logs.ACCESS_LOGGER).removeHandler(handler)
            await services.stop()


def _patch(format_ts: Callable[[int], str], timestamp: Callable[[float], str]) -> None:
    """Swap the formatters where the hot path looks them up (counting them, then back)."""
    setattr(clock, "format_ts", format_ts)  # noqa: B010 - a module attribute, on purpose
    setattr(wire, "format_ts", format_ts)  # noqa: B010
    setattr(logs, "_timestamp", timestamp)  # noqa: B010


def _per_call(fn: object, values: list[object], rounds: int = 7) -> float:
    """Median µs per call of ``fn`` over ``values``."""
    timer = timeit.Timer(lambda: [fn(v) for v in values])  # type: ignore[operator]
    return statistics.median(timer.repeat(rounds, 1)) / len(values) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=200)
    args = parser.parse_args()
    instants: list[int] = []
    created: list[float] = []
    asyncio.run(_lifecycles(args.lifecycles, instants, created))
    per_ts, per_line = len(instants) / args.lifecycles, len(created) / args.lifecycles
    rows = []
    for name, old, new, values, per in (
        ("format_ts", old_format_ts, clock.format_ts, instants, per_ts),
        ("log timestamp", old_timestamp, logs._timestamp, created, per_line),
    ):
        before, after = [], []
        for _ in range(3):  # alternate the variants
            before.append(_per_call(old, values))  # type: ignore[arg-type]
            after.append(_per_call(new, values))  # type: ignore[arg-type]
        b, a = statistics.median(before), statistics.median(after)
        rows.append((name, per, b, a, per * (b - a)))
        print(f"{name:>14}: {per:4.1f} per lifecycle, {b:5.2f} → {a:5.2f} µs per call, "
              f"{per * (b - a):5.1f} µs saved per lifecycle")  # fmt: skip
    print(f"{'total':>14}: {sum(r[4] for r in rows):5.1f} µs of CPU saved per lifecycle")


if __name__ == "__main__":
    main()
