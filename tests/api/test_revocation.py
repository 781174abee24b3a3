"""Revocation and expiry are immediate: the next request is 401, blocked polls of the token end.

Token expiry follows the wall clock (injected here as a manual ``wall``), never the emulator clock.
Streams of dead credentials are tested against real servers in tests/e2e/test_revocation.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.api.test_work_table import work_path
from tests.conftest import _client, assert_error, create_environment, create_session
from workyard.clock import ManualClock
from workyard.domain.models import TokenKind
from workyard.service.container import Services

ClientFor = Callable[[str | None], httpx.AsyncClient]


async def _blocked_poll(
    services: Services, http: httpx.AsyncClient, env_id: str
) -> asyncio.Task[httpx.Response]:
    """A poll that is waiting inside the server (its token is being watched)."""
    watched = len(services.tokens.watches)
    task = asyncio.create_task(http.get(work_path(env_id, "", "/poll"), params={"block_ms": 999}))
    while len(services.tokens.watches) == watched and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0)  # let the request reach the server's wait (no timing involved)
    return task


async def test_a_revoked_token_is_401_at_the_next_request(
    services: Services, client_for: ClientFor
) -> None:
    record, clear = await services.tokens.create("member", TokenKind.MEMBER)
    async with client_for(clear) as member:
        assert (await member.get("/environments")).status_code == 200  # cached from here on
        await services.tokens.revoke(record.id)
        assert_error(await member.get("/environments"), 401, "authentication_error")


async def test_a_blocked_poll_of_a_revoked_token_ends_without_claiming(
    services: Services, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    env_id = (await create_environment(client))["id"]
    record, clear = await services.tokens.create("worker", TokenKind.WORKER)
    async with client_for(clear) as worker:
        task = await _blocked_poll(services, worker, env_id)
        await services.tokens.revoke(record.id)
        session = await create_session(client, env_id)  # would wake the poll and be claimed
        response = await task
        assert response.status_code == 200 and response.json() is None
    queued = (await client.get(work_path(env_id, session["work_id"]))).json()
    assert queued["state"] == "queued"
    assert (await client.get(work_path(env_id, "", "/stats"))).json()["depth"] == 1


async def test_expiry_follows_the_wall_clock_not_the_emulator(
    services: Services, clock: ManualClock, wall: ManualClock, client_for: ClientFor
) -> None:
    _, clear = await services.tokens.create("short", TokenKind.ADMIN, expires_in_seconds=60)
    async with client_for(clear) as admin:
        clock.advance(3600)  # the emulator clock is not real time
        assert (await admin.get("/environments")).status_code == 200
        wall.advance(59.999999)
        assert (await admin.get("/environments")).status_code == 200
        wall.advance(0.000001)
        assert_error(await admin.get("/environments"), 401, "authentication_error")


async def test_a_blocked_poll_ends_when_its_token_expires(
    services: Services, client: httpx.AsyncClient, wall: ManualClock, client_for: ClientFor
) -> None:
    env_id = (await create_environment(client))["id"]
    _, clear = await services.tokens.create("w", TokenKind.WORKER, expires_in_seconds=60)
    async with client_for(clear) as worker:
        task = await _blocked_poll(services, worker, env_id)
        wall.advance(60)
        session = await create_session(client, env_id)
        response = await task
        assert response.status_code == 200 and response.json() is None
        assert_error(await worker.get(work_path(env_id, "", "/stats")), 401, "authentication_error")
    assert (await client.get(work_path(env_id, session["work_id"]))).json()["state"] == "queued"


# two replicas on one PostgreSQL database -------------------------------------------------------


async def test_revocation_on_one_replica_is_401_on_the_other(replicas: list[Services]) -> None:
    a, b = replicas
    record, clear = await a.tokens.create("member", TokenKind.MEMBER)
    async with _client(b, clear) as on_b:
        assert (await on_b.get("/environments")).status_code == 200  # cached on b
        changed = b.tokens.changed()
        await a.tokens.revoke(record.id)
        await asyncio.wait_for(changed.wait(), 10)  # b heard it from the change feed
        assert_error(await on_b.get("/environments"), 401, "authentication_error")


async def test_a_blocked_poll_on_another_replica_ends_when_revoked(
    replicas: list[Services],
) -> None:
    a, b = replicas
    _, admin = await a.tokens.create("admin", TokenKind.ADMIN)
    record, clear = await a.tokens.create("worker", TokenKind.WORKER)
    async with _client(a, admin) as on_a, _client(b, clear) as on_b:
        env_id = (await create_environment(on_a))["id"]
        task = await _blocked_poll(b, on_b, env_id)
        await a.tokens.revoke(record.id)
        response = await task
        assert response.status_code == 200 and response.json() is None
