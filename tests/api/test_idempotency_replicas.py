"""``Idempotency-Key`` across replicas: two servers on one PostgreSQL database execute a keyed
request once, whichever of them each copy reaches (the key is written with the write)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import API
from tests.pg import PG_URL, fresh_schema, require_postgres
from workyard.api import create_app
from workyard.clock import ManualClock
from workyard.config import Settings
from workyard.domain.models import TokenKind
from workyard.service.container import Services, build_services
from workyard.store.postgres.store import PostgresStore


@pytest.fixture
async def replicas(tmp_path: Path, clock: ManualClock) -> AsyncIterator[list[Services]]:
    require_postgres()
    async with fresh_schema() as schema:
        started: list[Services] = []
        try:
            for n in range(2):
                settings = Settings(data_dir=tmp_path / f"r{n}", manual_clock=True)
                store = PostgresStore(PG_URL, schema=schema, pool_size=4)
                services = build_services(settings, clock=clock, store=store)
                await services.start()
                started.append(services)
            yield started
        finally:
            for services in started:
                await services.stop()


async def test_a_key_raced_on_two_replicas_executes_once(replicas: list[Services]) -> None:
    _, token = await replicas[0].tokens.create("admin", TokenKind.ADMIN, ())
    headers = {"authorization": f"Bearer {token}"}
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(s, manage_lifecycle=False)),
            base_url=API,
            headers=headers,
        )
        for s in replicas
    ]
    try:
        env = await clients[0].post(
            "/environments", json={"name": "e", "config": {"type": "self_hosted"}}
        )
        body = {"environment_id": env.json()["id"]}
        for n in range(5):
            key = {"Idempotency-Key": f"replicated-{n}"}
            responses = await asyncio.gather(
                *(c.post("/sessions", json=body, headers=key) for c in clients * 2)
            )
            assert {r.status_code for r in responses} == {201}
            assert len({r.json()["id"] for r in responses}) == 1
            assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
        listed = (await clients[1].get("/sessions", params={"limit": 100})).json()["data"]
        assert len(listed) == 5
    finally:
        for c in clients:
            await c.aclose()
