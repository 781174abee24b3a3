"""The Python API (``Worker`` + an async handler) against the real app, in process."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from workyard.api import create_app
from workyard.client import AsyncClient, RetryPolicy
from workyard.service.container import Services
from workyard.worker import StatusLog, WorkContext, Worker

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the app; can lose the answer of chosen requests after they ran."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.lose_answer: Callable[[httpx.Request], bool] = lambda request: False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        if self.lose_answer(request):
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


@pytest.fixture
def transport(services: Services) -> Recorder:
    return Recorder(httpx.ASGITransport(app=create_app(services, manage_lifecycle=False)))


@pytest.fixture
async def sdk(transport: Recorder, admin_token: str) -> AsyncIterator[AsyncClient]:
    http = httpx.AsyncClient(transport=transport, timeout=10)
    async with http:
        yield AsyncClient("http://testserver", admin_token, http_client=http, retry_policy=NO_WAIT)


@pytest.fixture
async def env_id(sdk: AsyncClient) -> str:
    env = await sdk.environments.create("py", config={"type": "self_hosted"})
    return env.id


Handler = Callable[[WorkContext], Awaitable[int | None]]


def _worker(
    sdk: AsyncClient, env_id: str, handler: Handler, **options: Any
) -> tuple[Worker, io.StringIO]:
    stream = io.StringIO()
    worker = Worker(sdk, env_id, handler, log=StatusLog("json", stream), **options)
    return worker, stream


def _events(stream: io.StringIO, event: str) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in stream.getvalue().splitlines())
    return [e for e in lines if e["event"] == event]


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)  # polling for a condition, not for a timeout


async def test_the_handler_sees_item_and_session_and_its_exit_code_is_recorded(
    sdk: AsyncClient, env_id: str
) -> None:
    session = await sdk.sessions.create(env_id, title="py", metadata={"job": "x"})
    seen: dict[str, Any] = {}

    async def handler(ctx: WorkContext) -> int:
        seen.update(item=ctx.item.id, session=ctx.session.title, worker=ctx.worker_id)
        seen["stopping"] = ctx.stopping.is_set()
        await ctx.update_metadata({"progress": "half", "job": None})
        return 5

    worker, _ = _worker(sdk, env_id, handler, once=True, worker_id="py-1")
    await worker.run()
    item = await sdk.work.retrieve(env_id, session.work_id or "")
    assert seen == {"item": item.id, "session": "py", "worker": "py-1", "stopping": False}
    assert item.state == "stopped"
    assert item.metadata == {"progress": "half", "exit_code": "5", "worker_id": "py-1"}
    assert worker.handled == 1


async def test_a_failing_handler_is_logged_and_its_item_stopped(
    sdk: AsyncClient, env_id: str
) -> None:
    session = await sdk.sessions.create(env_id)

    async def handler(ctx: WorkContext) -> int:
        raise RuntimeError("boom")

    worker, log = _worker(sdk, env_id, handler, once=True, worker_id="py-2")
    await worker.run()
    item = await sdk.work.retrieve(env_id, session.work_id or "")
    assert item.state == "stopped"
    assert item.metadata == {"error": "RuntimeError: boom", "worker_id": "py-2"}
    (failed,) = _events(log, "failed")
    assert failed["what"] == "handler"
    assert failed["error"] == "boom"


async def test_the_worker_never_polls_for_more_than_it_can_run(
    sdk: AsyncClient, env_id: str
) -> None:
    for _ in range(5):
        await sdk.sessions.create(env_id)
    release = asyncio.Event()
    running: list[str] = []
    most = 0

    async def handler(ctx: WorkContext) -> int:
        nonlocal most
        running.append(ctx.work_id)
        most = max(most, len(running))
        await release.wait()
        running.remove(ctx.work_id)
        return 0

    worker, _ = _worker(sdk, env_id, handler, concurrency=2, until_empty=True)
    task = asyncio.create_task(worker.run())
    await _until(lambda: len(running) == 2, "two handlers")
    stats = await sdk.work.stats(env_id)
    assert (stats.pending, stats.depth) == (0, 3)  # nothing delivered that it could not run
    release.set()
    await task
    assert most == 2
    assert worker.handled == 5
    states = {item.state async for item in sdk.work.list_all(env_id)}
    assert states == {"stopped"}


async def test_shutdown_sets_stopping_after_the_grace_period(sdk: AsyncClient, env_id: str) -> None:
    session = await sdk.sessions.create(env_id)
    reasons: list[str | None] = []
    started = asyncio.Event()

    async def handler(ctx: WorkContext) -> int:
        started.set()
        await ctx.stopping.wait()
        reasons.append(ctx.stop_reason)
        return 0

    worker, log = _worker(sdk, env_id, handler, grace=0.0)
    task = asyncio.create_task(worker.run())
    await started.wait()
    worker.request_shutdown()
    await task
    assert reasons == ["shutdown"]
    assert [e["reason"] for e in _events(log, "stopping")] == ["shutdown"]
    item = await sdk.work.retrieve(env_id, session.work_id or "")
    assert item.state == "stopped"
    assert not worker.forced


async def test_a_second_shutdown_request_cancels_handlers_and_leaves_items_alone(
    sdk: AsyncClient, env_id: str
) -> None:
    session = await sdk.sessions.create(env_id)
    cancelled = asyncio.Event()
    started = asyncio.Event()

    async def handler(ctx: WorkContext) -> int:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    worker, _ = _worker(sdk, env_id, handler, grace=3600.0)
    task = asyncio.create_task(worker.run())
    await started.wait()
    worker.request_shutdown()
    worker.request_shutdown()
    await task
    assert cancelled.is_set()
    assert worker.forced
    item = await sdk.work.retrieve(env_id, session.work_id or "")
    assert item.state == "active"


async def test_a_heartbeat_whose_answer_was_lost_and_retried_keeps_the_lease(
    sdk: AsyncClient, env_id: str, transport: Recorder
) -> None:
    session = await sdk.sessions.create(env_id)
    beats = [0]

    def lose_first_heartbeat_answer(request: httpx.Request) -> bool:
        if not request.url.path.endswith("/heartbeat"):
            return False
        beats[0] += 1
        return beats[0] == 1

    transport.lose_answer = lose_first_heartbeat_answer

    async def handler(ctx: WorkContext) -> int:
        return 0

    worker, log = _worker(sdk, env_id, handler, once=True)
    await worker.run()
    sent = [r for r in transport.requests if r.url.path.endswith("/heartbeat")]
    expected = [r.url.params.get("expected_last_heartbeat") for r in sent]
    # Applied, answer lost; the SDK's retry carries the same Idempotency-Key, so the server
    # replays the first answer (no 412): the lease is kept and the next beat expects it.
    assert expected[:2] == ["NO_HEARTBEAT", "NO_HEARTBEAT"]
    assert sent[0].headers["idempotency-key"] == sent[1].headers["idempotency-key"]
    assert all(value not in (None, "NO_HEARTBEAT") for value in expected[2:])
    assert not _events(log, "lease_lost")
    item = await sdk.work.retrieve(env_id, session.work_id or "")
    assert item.state == "stopped"
    assert item.metadata["exit_code"] == "0"
