"""Shared fixtures: services on SQLite and PostgreSQL with a manual clock, in-process clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, start_server
from tests.pg import PG_URL, fresh_schema, require_postgres
from workyard.api import create_app
from workyard.clock import ManualClock, parse_ts
from workyard.config import Settings
from workyard.domain.models import TokenKind
from workyard.service.container import Services, build_services
from workyard.store import Store
from workyard.store.postgres.store import PostgresStore

API = "http://testserver/api/v1/cloud"
START = parse_ts("2026-07-01T08:00:00.000000Z")

TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def wall() -> ManualClock:
    """Real time as the services see it (token expiry), frozen until a test moves it."""
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, manual_clock=True)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that touches a store runs on both backends."""
    name: str = request.param
    if name == "postgres":
        require_postgres()
    return name


@pytest.fixture
async def store(backend: str, settings: Settings) -> AsyncIterator[Store | None]:
    """``None`` means the default store of ``settings`` (SQLite in the temporary data dir)."""
    if backend == "sqlite":
        yield None
        return
    async with fresh_schema() as schema:
        yield PostgresStore(PG_URL, schema=schema, pool_size=4)


@pytest.fixture
async def services(
    settings: Settings, clock: ManualClock, wall: ManualClock, store: Store | None
) -> AsyncIterator[Services]:
    svc = build_services(settings, clock=clock, store=store, wall=wall)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
def make_token(services: Services) -> TokenFactory:
    async def make(kind: str = "admin", environments: tuple[str, ...] = ()) -> str:
        _, clear = await services.tokens.create(f"test {kind}", TokenKind(kind), environments)
        return clear

    return make


@pytest.fixture
async def admin_token(make_token: TokenFactory) -> str:
    return await make_token("admin")


def _client(services: Services, token: str | None) -> httpx.AsyncClient:
    app = create_app(services, manage_lifecycle=False)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=API, headers=headers, timeout=10
    )


@pytest.fixture
async def client(services: Services, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An admin-authenticated client for ``/api/v1/cloud``."""
    async with _client(services, admin_token) as c:
        yield c


@pytest.fixture
def client_for(services: Services) -> Callable[[str | None], httpx.AsyncClient]:
    """A client with another token (or none); use it as an async context manager."""
    return lambda token: _client(services, token)


async def create_environment(
    client: httpx.AsyncClient, kind: str = "self_hosted", **fields: Any
) -> dict[str, Any]:
    body = {"name": fields.pop("name", f"{kind} env"), "config": {"type": kind}, **fields}
    response = await client.post("/environments", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def create_session(
    client: httpx.AsyncClient, environment_id: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/sessions", json={"environment_id": environment_id, **fields})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_error(
    response: httpx.Response, status: int, error_type: str, param: str | None = None
) -> dict[str, Any]:
    """Assert the response is the error envelope with this status, type and param."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == "error"
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if param is None:
        assert "param" not in body["error"], body
    else:
        assert body["error"].get("param") == param, body
    return body


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real ``workyard serve --manual-clock`` process (SQLite) on a free loopback port."""
    process = start_server(tmp_path / "data", "--manual-clock")
    try:
        yield process
    finally:
        process.stop()
