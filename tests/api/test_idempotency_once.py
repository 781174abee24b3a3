"""A keyed POST authenticates once and matches its route once, like any other request.

The calls are counted by a profiler hook (each distinct frame of ``TokenService.authenticate`` and
``RouteTable.match``), which observes the real code without replacing any of it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import httpx

from tests.conftest import assert_error, create_environment
from workyard.api.router import RouteTable
from workyard.service.auth import TokenService
from workyard.service.container import Services

_WATCHED = {
    TokenService.authenticate.__code__: "authenticate",
    RouteTable.match.__code__: "match",
}


@contextmanager
def _calls() -> Iterator[dict[str, int]]:
    """How many times each watched function is entered (a resumed coroutine is not a new call)."""
    frames: list[FrameType] = []  # kept alive, so no frame is mistaken for another
    counts = {"authenticate": 0, "match": 0}

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        name = _WATCHED.get(frame.f_code)
        if event == "call" and name is not None and all(f is not frame for f in frames):
            frames.append(frame)
            counts[name] += 1

    sys.setprofile(profile)
    try:
        yield counts
    finally:
        sys.setprofile(None)


async def test_a_keyed_post_authenticates_and_matches_once(
    services: Services, client: httpx.AsyncClient
) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"]}
    keyed = {"Idempotency-Key": "once-1"}
    for replay in (False, True):  # the first request, then its replay
        with _calls() as counts:
            response = await client.post("/sessions", json=body, headers=keyed)
        assert response.status_code == 201
        assert ("idempotent-replayed" in response.headers) is replay
        assert counts == {"authenticate": 1, "match": 1}, (replay, counts)


async def test_a_keyed_post_with_a_bad_token_is_decided_once(
    services: Services, client: httpx.AsyncClient
) -> None:
    env = await create_environment(client)
    headers = {"Idempotency-Key": "once-2", "authorization": "Bearer pt-" + "x" * 40}
    with _calls() as counts:
        response = await client.post(
            "/sessions", json={"environment_id": env["id"]}, headers=headers
        )
    assert_error(response, 401, "authentication_error")
    assert counts == {"authenticate": 1, "match": 1}


async def test_an_unkeyed_post_too(services: Services, client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    with _calls() as counts:
        response = await client.post("/sessions", json={"environment_id": env["id"]})
    assert response.status_code == 201
    assert counts == {"authenticate": 1, "match": 1}
