"""One short program, run with workyard's SDK and with the official ``qca-sdk`` against the same
live workyard server: the same results, and the same error classes for every error case.

The program only uses what both SDKs spell the same way: ``client.environments.work`` with the
work id first, keyword arguments, ``extra_query`` and ``extra_headers``, iterable pages with
``has_next_page()`` / ``get_next_page()`` / ``iter_pages()``, errors with ``status_code`` and
``type``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from qca.common._exceptions import APIStatusError as QcaStatusError
from qca.managed import AsyncManaged, Managed
from typer.testing import CliRunner

from tests.compat.test_qca_work import LiveServer, live_server  # noqa: F401 (a fixture)
from workyard.cli.main import app as cli_app
from workyard.client import APIStatusError, AsyncClient, Client

MISSING_SESSION = "sess_0190a1b2c3d4e5f60718293a4b5c6d7f"

Factory = Callable[[str], Any]


def _outcome(status: int, action: Callable[[], object]) -> tuple[str, int, str | None]:
    """The error ``action`` raises: class name, status, ``error.type``."""
    try:
        action()
    except (APIStatusError, QcaStatusError) as exc:
        return type(exc).__name__, exc.status_code, exc.type
    raise AssertionError(f"no error was raised for {status}")


def program(make: Factory, token: str, member_token: str) -> dict[str, Any]:
    """What both SDKs must agree on. ``make(token)`` builds a client for the live server."""
    client = make(token)
    env = client.environments.create(name="parity", config={"type": "self_hosted"})
    for title in ("one", "two", "three"):
        client.sessions.create(agent="agent_x", environment_id=env.id, title=title)
    scoped = {"environment_id": env.id}
    page = client.sessions.list(limit=2, order="asc", extra_query=scoped)
    following = page.get_next_page()
    item = client.environments.work.poll(env.id, block_ms=10, worker_id="w-1")
    work = client.environments.work
    acked = work.ack(item.id, environment_id=env.id, extra_headers={"Worker-ID": "w-1"})
    beat = work.heartbeat(item.id, environment_id=env.id, expected_last_heartbeat="NO_HEARTBEAT")
    results: dict[str, Any] = {
        "environment": (env.id[:4], env.name),
        "first page": ([s.title for s in page.data], page.has_next_page()),
        "next page": ([s.title for s in following.data], following.has_next_page()),
        "pages": [len(p.data) for p in page.iter_pages()],
        "all titles": [s.title for s in client.sessions.list(limit=1, extra_query=scoped)],
        "acked": (acked.id == item.id, acked.state),
        "heartbeat": (beat.lease_extended, beat.state),
        "retrieved": work.retrieve(item.id, environment_id=env.id).state,
        "stats": work.stats(env.id).depth,
    }
    errors = {
        400: lambda: client.sessions.list(limit=0),
        401: lambda: make("pt-not-a-token").sessions.retrieve(MISSING_SESSION),
        403: lambda: make(member_token).environments.delete(env.id),
        404: lambda: client.sessions.retrieve(MISSING_SESSION),
        409: lambda: client.environments.delete(env.id),  # sessions still reference it
        412: lambda: work.heartbeat(
            item.id, environment_id=env.id, expected_last_heartbeat="NO_HEARTBEAT"
        ),
    }
    results["errors"] = {status: _outcome(status, action) for status, action in errors.items()}
    return results


def _member_token(data_dir: Path) -> str:
    args = ["token", "create", "--name", "m", "--kind", "member", "--json"]
    created = CliRunner().invoke(cli_app, [*args, "--data-dir", str(data_dir)])
    assert created.exit_code == 0, created.output
    token: str = json.loads(created.stdout)["token"]
    return token


@pytest.fixture
def member_token(live_server: LiveServer, tmp_path: Path) -> str:  # noqa: F811
    return _member_token(tmp_path)


def test_both_sdks_see_the_same_results_and_errors(
    live_server: LiveServer,  # noqa: F811
    member_token: str,
) -> None:
    base = f"{live_server.url}/api/v1/cloud/"
    opened: list[Any] = []

    def ours(token: str) -> Client:
        client = Client(base, token)
        opened.append(client)
        return client

    def theirs(token: str) -> Managed:
        client = Managed(pat=token, base_url=base)
        opened.append(client)
        return client

    try:
        mine = program(ours, live_server.token, member_token)
        official = program(theirs, live_server.token, member_token)
    finally:
        for client in opened:
            client.close()
    assert mine == official
    assert mine["first page"] == (["one", "two"], True)
    assert (mine["pages"], mine["all titles"]) == ([2, 1], ["three", "two", "one"])
    assert {status: outcome[:2] for status, outcome in mine["errors"].items()} == {
        400: ("BadRequestError", 400),
        401: ("AuthenticationError", 401),
        403: ("PermissionDeniedError", 403),
        404: ("NotFoundError", 404),
        409: ("ConflictError", 409),
        412: ("APIStatusError", 412),
    }


async def async_pages(client: Any, env_id: str) -> dict[str, Any]:
    """The async spelling of lists and errors, which both SDKs share too."""
    scoped = {"environment_id": env_id}
    page = await client.sessions.list(limit=2, order="asc", extra_query=scoped)
    following = await page.get_next_page()
    try:
        await client.sessions.retrieve(MISSING_SESSION)
    except (APIStatusError, QcaStatusError) as exc:
        missing: tuple[str, int] = (type(exc).__name__, exc.status_code)
    return {
        "first page": ([s.title for s in page.data], page.has_next_page()),
        "next page": [s.title for s in following.data],
        "pages": [len(p.data) async for p in page.iter_pages()],
        "all titles": [s.title async for s in client.sessions.list(limit=1, extra_query=scoped)],
        "missing": missing,
    }


async def test_both_async_sdks_page_alike(live_server: LiveServer) -> None:  # noqa: F811
    base = f"{live_server.url}/api/v1/cloud/"
    with Client(base, live_server.token) as setup:
        env = setup.environments.create(name="async", config={"type": "self_hosted"})
        for title in ("a", "b", "c"):
            setup.sessions.create(agent="agent_x", environment_id=env.id, title=title)
    async with AsyncClient(base, live_server.token) as ours:
        mine = await async_pages(ours, env.id)
    async with AsyncManaged(pat=live_server.token, base_url=base) as theirs:
        official = await async_pages(theirs, env.id)
    assert mine == official
    assert mine["pages"] == [2, 1] and mine["all titles"] == ["c", "b", "a"]
    assert mine["missing"] == ("NotFoundError", 404)
