"""Pages that fetch the next ones, sync and async, and the qca-style ``environments.work``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from workyard.client import AsyncClient, AsyncPage, Client, SyncPage

BASE = "http://server.test/api/v1/cloud"
ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"


def _env(env_id: str) -> dict[str, Any]:
    return {"id": env_id, "type": "environment", "name": env_id}


PAGES: dict[str | None, dict[str, Any]] = {
    None: {"data": [_env("env_a"), _env("env_b")], "has_more": True, "next_page": "p2"},
    "p2": {"data": [_env("env_c")], "has_more": True, "next_page": "p3"},
    "p3": {"data": [_env("env_d")], "has_more": False, "next_page": None},
}


class Server:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/heartbeat"):
            beat = {"last_heartbeat": "t", "lease_extended": True, "state": "active"}
            return httpx.Response(200, json=beat)
        if "/work" in request.url.path:
            item = {"id": "work_1", "state": "starting", "environment_id": ENV}
            return httpx.Response(200, json=item)
        return httpx.Response(200, json=PAGES[request.url.params.get("page")])

    def client(self) -> Client:
        return Client(BASE, "pt", http_client=httpx.Client(transport=httpx.MockTransport(self)))

    def async_client(self) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return AsyncClient(BASE, "pt", http_client=http)


def test_a_sync_page_walks_the_following_pages() -> None:
    server = Server()
    with server.client() as client:
        page = client.environments.list(limit=2, include_archived=True)
        assert isinstance(page, SyncPage)
        assert [e.id for e in page.data] == ["env_a", "env_b"]
        assert len(server.requests) == 1
        assert page.has_next_page()
        second = page.get_next_page()
        assert [e.id for e in second.data] == ["env_c"]
        assert [[e.id for e in p.data] for p in page.iter_pages()] == [
            ["env_a", "env_b"],
            ["env_c"],
            ["env_d"],
        ]
        last = second.get_next_page()
        assert not last.has_next_page()
        with pytest.raises(RuntimeError, match="No more pages"):
            last.get_next_page()
        assert [e.id for e in page] == ["env_a", "env_b", "env_c", "env_d"]
    following = [dict(r.url.params) for r in server.requests[1:]]
    assert {params.pop("page") for params in following} == {"p2", "p3"}
    assert all(params == {"limit": "2", "include_archived": "true"} for params in following)


async def test_an_async_list_is_awaited_for_a_page_or_iterated_for_every_item() -> None:
    server = Server()
    async with server.async_client() as client:
        page = await client.environments.list(limit=2)
        assert isinstance(page, AsyncPage)
        assert page.has_next_page()
        second = await page.get_next_page()
        assert [e.id for e in second.data] == ["env_c"]
        sizes = [len(p.data) async for p in page.iter_pages()]
        assert sizes == [2, 1, 1]
        ids = [e.id async for e in client.environments.list(limit=2)]
        assert ids == ["env_a", "env_b", "env_c", "env_d"]
        listed = [e.id async for e in client.environments.list_all(limit=2)]
        assert listed == ids


def test_a_page_built_by_hand_cannot_fetch() -> None:
    page: SyncPage[object] = SyncPage((), None, None, True, "p2")
    assert not page.has_next_page()
    with pytest.raises(RuntimeError):
        page.get_next_page()


def test_environments_work_takes_the_work_id_first_as_qca_sdk() -> None:
    server = Server()
    with server.client() as client:
        client.environments.work.retrieve("work_1", environment_id=ENV)
        client.environments.work.ack("work_1", environment_id=ENV, worker_id="w-1")
        client.environments.work.heartbeat(
            "work_1", environment_id=ENV, expected_last_heartbeat="NO_HEARTBEAT"
        )
        client.environments.work.stop("work_1", environment_id=ENV, force=True)
        client.environments.work.update("work_1", environment_id=ENV, metadata={"k": "v"})
        client.work.retrieve(ENV, "work_1")  # the earlier spelling
    paths = [
        (r.method, r.url.path.removeprefix(f"/api/v1/cloud/environments/{ENV}"))
        for r in server.requests
    ]
    assert paths == [
        ("GET", "/work/work_1"),
        ("POST", "/work/work_1/ack"),
        ("POST", "/work/work_1/heartbeat"),
        ("POST", "/work/work_1/stop"),
        ("POST", "/work/work_1"),
        ("GET", "/work/work_1"),
    ]
    assert server.requests[1].headers["worker-id"] == "w-1"


async def test_async_environments_work() -> None:
    server = Server()
    async with server.async_client() as client:
        item = await client.environments.work.retrieve("work_1", environment_id=ENV)
    assert item.id == "work_1"
