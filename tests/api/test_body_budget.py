"""api/budget.py: large request bodies held at once draw on one process-wide budget.

Racing real requests: a body that is still arriving holds its bytes; another that would overdraw
the budget is answered 503 ``overloaded_error`` (with ``Retry-After``) and changes nothing; the
bytes come back when a request ends, however it ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.events_support import list_all, new_session
from tests.conftest import API, assert_error
from workyard.api.app import WorkyardApp, create_app
from workyard.config import Settings, load_settings
from workyard.service.container import Services

KIB = 1024
LIMIT = 1024 * KIB  # both the per-body limit and the budget


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, manual_clock=True, max_body_bytes=LIMIT, max_body_buffer_bytes=LIMIT
    )


@pytest.fixture
def app(services: Services) -> WorkyardApp:
    return create_app(services, manage_lifecycle=False)


@pytest.fixture
async def client(app: WorkyardApp, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of ``app`` (whose budget the tests look at)."""
    headers = {"authorization": f"Bearer {admin_token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=API, headers=headers, timeout=10
    ) as c:
        yield c


async def _until_held(app: WorkyardApp, size: int) -> None:
    """Yield (and let store threads run) until ``size`` bytes of bodies are held."""
    for _ in range(2000):
        if app.body_budget.held >= size:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the first body never arrived")


def _body(text_bytes: int) -> bytes:
    event = {"type": "user.message", "content": [{"type": "text", "text": "x" * text_bytes}]}
    return json.dumps({"events": [event]}).encode()


async def _held_then(body: bytes, first: int, go: asyncio.Event) -> AsyncIterator[bytes]:
    """Send ``first`` bytes, wait for ``go``, then the rest (a body that is still arriving)."""
    yield body[:first]
    await go.wait()
    yield body[first:]


async def _post(client: httpx.AsyncClient, path: str, content: Any, **headers: str) -> Any:
    return await client.post(
        path, content=content, headers={"content-type": "application/json", **headers}
    )


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_that_would_overdraw_the_budget_is_refused_and_changes_nothing(
    app: WorkyardApp, client: httpx.AsyncClient, declared: bool
) -> None:
    session = await new_session(client)
    path = f"/sessions/{session['id']}/events"
    first, second = _body(600 * KIB), _body(600 * KIB)
    go = asyncio.Event()
    length = {"content-length": str(len(first))} if declared else {}
    held = asyncio.create_task(_post(client, path, _held_then(first, 500 * KIB, go), **length))
    await _until_held(app, 500 * KIB)
    refused = await _post(client, path, second)
    assert refused.status_code == 503, refused.text[:200]
    assert_error(refused, 503, "overloaded_error")
    assert refused.headers["retry-after"] == "1"
    go.set()
    assert (await held).status_code == 200
    assert len(await list_all(client, session["id"])) == 1  # the refused body stored nothing
    assert app.body_budget.held == 0  # the bytes came back when each request ended
    again = await _post(client, path, second)
    assert again.status_code == 200, again.text[:200]


async def test_small_bodies_never_draw_on_the_budget(
    app: WorkyardApp, client: httpx.AsyncClient
) -> None:
    session = await new_session(client)
    path = f"/sessions/{session['id']}/events"
    go = asyncio.Event()
    big = _body(900 * KIB)
    held = asyncio.create_task(_post(client, path, _held_then(big, 900 * KIB, go)))
    await _until_held(app, 900 * KIB)
    small = await _post(client, path, _body(32 * KIB))
    assert small.status_code == 200  # the hot path's small bodies are bounded by connections
    go.set()
    assert (await held).status_code == 200


async def test_a_body_cut_off_mid_way_gives_its_bytes_back(
    app: WorkyardApp, client: httpx.AsyncClient
) -> None:
    session = await new_session(client)
    path = f"/sessions/{session['id']}/events"

    async def too_large() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * (300 * KIB)  # past the 1 MiB body limit: 400, the bytes handed back

    assert_error(await _post(client, path, too_large()), 400, "invalid_request_error")
    assert app.body_budget.held == 0
    assert (await _post(client, path, _body(900 * KIB))).status_code == 200


def test_the_budget_cannot_be_smaller_than_one_body() -> None:
    with pytest.raises(ValueError, match="WORKYARD_MAX_BODY_BUFFER_BYTES"):
        load_settings({"WORKYARD_MAX_BODY_BUFFER_BYTES": str(1024)})
