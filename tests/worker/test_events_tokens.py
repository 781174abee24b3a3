"""What the command runner does with session events is allowed to a worker token (in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from workyard.api import create_app
from workyard.client import AsyncClient, PermissionDeniedError, RetryPolicy, user_message
from workyard.service.container import Services
from workyard.worker.events import exit_error_event, stdout_event

TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        yield client


def sdk(http: httpx.AsyncClient, token: str) -> AsyncClient:
    return AsyncClient("http://testserver", token, http_client=http, retry_policy=RetryPolicy(0))


async def test_a_worker_token_reads_user_events_and_posts_worker_events(
    http: httpx.AsyncClient, admin_token: str, make_token: TokenFactory
) -> None:
    admin = sdk(http, admin_token)
    env = await admin.environments.create("w", config={"type": "self_hosted"})
    session = await admin.sessions.create(env.id)
    await admin.sessions.events.send(session.id, [user_message("hello")])
    worker = sdk(http, await make_token("worker", (env.id,)))

    assert (await worker.sessions.retrieve(session.id)).id == session.id
    history = [
        e
        async for e in worker.sessions.events.list_all(
            session.id, types=["user.interrupt", "user.message"]
        )
    ]
    assert [(e.type, e.text) for e in history] == [("user.message", "hello")]

    lines = [
        "plain text",
        '{"type": "agent.tool_use", "name": "bash", "input": {"cmd": "ls"}}',
        '{"type": "agent.tool_result", "tool_use_id": "t1", "content": "a b", "is_error": false}',
        '{"type": "system.message", "content": "note"}',
    ]
    events = [e for e in map(stdout_event, lines) if e is not None]
    events.append(exit_error_event(3, ["boom"]))
    posted = await worker.sessions.events.send(session.id, events)
    assert [e.type for e in posted] == [
        "agent.message",
        "agent.tool_use",
        "agent.tool_result",
        "system.message",
        "session.error",
    ]
    assert posted[-1].error == exit_error_event(3, ["boom"])["error"]

    with pytest.raises(PermissionDeniedError):
        await worker.sessions.events.send(session.id, [user_message("not mine to send")])
