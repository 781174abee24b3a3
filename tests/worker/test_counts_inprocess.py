"""The worker's log counts what happened: items handled, and polls that really succeeded."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from workyard.api import create_app
from workyard.client import AsyncClient, RetryPolicy
from workyard.service.container import Services
from workyard.worker import StatusLog, WorkContext, Worker

NO_RETRY = RetryPolicy(max_retries=0, initial_delay=0.0, max_delay=0.0)


class FirstPollFails(httpx.AsyncBaseTransport):
    """The app, except that the first poll cannot connect; counts the polls."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.polls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/work/poll"):
            self.polls += 1
            if self.polls == 1:
                raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def transport(services: Services) -> FirstPollFails:
    return FirstPollFails(httpx.ASGITransport(app=create_app(services, manage_lifecycle=False)))


@pytest.fixture
async def sdk(transport: FirstPollFails, admin_token: str) -> AsyncIterator[AsyncClient]:
    http = httpx.AsyncClient(transport=transport, timeout=10)
    async with http:
        yield AsyncClient("http://testserver", admin_token, http_client=http, retry_policy=NO_RETRY)


def _events(stream: io.StringIO, event: str) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in stream.getvalue().splitlines())
    return [e for e in lines if e["event"] == event]


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)  # polling for a condition, not for a timeout


async def test_a_poll_cut_short_by_a_shutdown_is_not_a_recovery(
    sdk: AsyncClient, transport: FirstPollFails
) -> None:
    env = await sdk.environments.create("counts", config={"type": "self_hosted"})

    async def handler(ctx: WorkContext) -> int:
        return 0

    stream = io.StringIO()
    worker = Worker(sdk, env.id, handler, log=StatusLog("json", stream))
    task = asyncio.create_task(worker.run())
    await _until(lambda: transport.polls >= 2, "a second poll, blocked on the empty queue")
    worker.request_shutdown()
    await task
    assert len(_events(stream, "poll_failed")) == 1
    assert _events(stream, "poll_recovered") == []  # the second poll never answered
    assert worker.stats.poll_errors == 1


async def test_a_forced_exit_counts_the_items_it_abandoned(sdk: AsyncClient) -> None:
    env = await sdk.environments.create("forced", config={"type": "self_hosted"})
    for _ in range(2):
        await sdk.sessions.create(env.id)
    started: list[str] = []

    async def handler(ctx: WorkContext) -> int:
        started.append(ctx.work_id)
        await asyncio.Event().wait()  # never returns by itself
        return 0

    stream = io.StringIO()
    worker = Worker(sdk, env.id, handler, concurrency=2, log=StatusLog("json", stream))
    task = asyncio.create_task(worker.run())
    await _until(lambda: len(started) == 2, "both handlers")
    worker.request_shutdown(force=True)
    await task
    (stopped,) = _events(stream, "worker_stopped")
    assert stopped["handled"] == 2
    assert stopped["message"] == "stopped after 2 item(s)"
