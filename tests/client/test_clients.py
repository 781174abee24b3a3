"""The sync and async clients against canned server answers (``httpx.MockTransport``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from workyard.client import AsyncClient, Client, RetryPolicy, WorkItem

ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"
BASE = "http://server.test/api/v1/cloud"
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)

Handler = Callable[[httpx.Request], httpx.Response]


def _env(env_id: str) -> dict[str, Any]:
    return {"id": env_id, "type": "environment", "name": env_id, "config": {"type": "self_hosted"}}


PAGES: dict[str | None, dict[str, Any]] = {
    None: {"data": [_env("env_a"), _env("env_b")], "has_more": True, "next_page": "p2"},
    "p2": {"data": [_env("env_c")], "has_more": True, "next_page": "p3"},
    "p3": {"data": [_env("env_d")], "has_more": False, "next_page": None},
}


class Server:
    """Canned answers; records every request it receives."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def client(self, **kwargs: Any) -> Client:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return Client(BASE, "pt-test", http_client=http, retry_policy=NO_WAIT, **kwargs)

    def async_client(self) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return AsyncClient(BASE, "pt-test", http_client=http, retry_policy=NO_WAIT)


def paging(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/api/v1/cloud/environments"
    return httpx.Response(200, json=PAGES[request.url.params.get("page")])


def test_list_all_follows_next_page() -> None:
    server = Server(paging)
    with server.client() as client:
        ids = [env.id for env in client.environments.list_all(include_archived=True, limit=2)]
    assert ids == ["env_a", "env_b", "env_c", "env_d"]
    params = [dict(r.url.params) for r in server.requests]
    assert params == [
        {"include_archived": "true", "limit": "2"},
        {"include_archived": "true", "limit": "2", "page": "p2"},
        {"include_archived": "true", "limit": "2", "page": "p3"},
    ]
    assert all(r.headers["authorization"] == "Bearer pt-test" for r in server.requests)


def test_list_all_is_lazy() -> None:
    server = Server(paging)
    with server.client() as client:
        iterator = client.environments.list_all()
        assert server.requests == []
        assert next(iterator).id == "env_a"
    assert len(server.requests) == 1


async def test_async_list_all_follows_next_page() -> None:
    server = Server(paging)
    async with server.async_client() as client:
        ids = [env.id async for env in client.environments.list_all()]
    assert ids == ["env_a", "env_b", "env_c", "env_d"]
    assert [r.url.params.get("page") for r in server.requests] == [None, "p2", "p3"]


def work_server(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/poll"):
        return httpx.Response(200, content=b"null", headers={"content-type": "application/json"})
    item = {"id": "work_1", "state": "starting", "data": {"type": "session", "id": "sess_1"}}
    return httpx.Response(200, json=item)


def test_poll_null_and_worker_id_over_the_wire() -> None:
    server = Server(work_server)
    with server.client() as client:
        assert client.work.poll(ENV, block_ms=10, worker_id="w-1") is None
        item = client.work.ack(ENV, "work_1", worker_id="w-1")
    assert isinstance(item, WorkItem)
    assert item.state == "starting"
    poll, ack = server.requests
    assert str(poll.url) == f"{BASE}/environments/{ENV}/work/poll?block_ms=10"
    assert poll.headers["worker-id"] == ack.headers["worker-id"] == "w-1"
    assert (ack.method, ack.content) == ("POST", b"")


async def test_async_poll_null_and_stop_body() -> None:
    server = Server(work_server)
    async with server.async_client() as client:
        assert await client.work.poll(ENV) is None
        await client.work.stop(ENV, "work_1", force=True)
    stop = server.requests[1]
    assert stop.headers["content-type"] == "application/json"
    assert json.loads(stop.content) == {"force": True}


def flaky(statuses: list[int]) -> Handler:
    """Answers ``statuses`` in order, then 200 with an environment."""
    remaining = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        if remaining:
            status = remaining.pop(0)
            envelope = {"type": "error", "error": {"type": "x", "message": f"status {status}"}}
            return httpx.Response(status, json=envelope, headers={"x-request-id": "r"})
        return httpx.Response(200, json=_env(ENV))

    return handler


async def test_async_retry_then_success() -> None:
    server = Server(flaky([502]))
    async with server.async_client() as client:
        env = await client.environments.update(ENV, metadata={"k": None})
    assert env.id == ENV
    assert [json.loads(r.content) for r in server.requests] == [{"metadata": {"k": None}}] * 2


def test_passed_in_http_client_is_not_closed() -> None:
    http = httpx.Client(transport=httpx.MockTransport(paging))
    with Client(BASE, "pt", http_client=http):
        pass
    assert not http.is_closed
    http.close()


def test_owned_http_client_is_closed() -> None:
    client = Client(BASE, "pt")
    client.close()
    with pytest.raises(RuntimeError):
        client.environments.retrieve(ENV)


def test_token_and_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKYARD_URL", "http://from-env.test")
    monkeypatch.delenv("WORKYARD_TOKEN", raising=False)
    monkeypatch.delenv("QODER_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("QODER_PAT", "pt-qoder")
    server = Server(paging)
    http = httpx.Client(transport=httpx.MockTransport(server))
    with Client(http_client=http) as client:
        list(client.environments.list_all())
    request = server.requests[0]
    assert str(request.url).startswith("http://from-env.test/api/v1/cloud/environments")
    assert request.headers["authorization"] == "Bearer pt-qoder"
