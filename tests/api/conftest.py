"""Fixtures of the API tests beyond the shared ones."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.pg import PG_URL, fresh_schema, require_postgres
from workyard.clock import ManualClock
from workyard.config import Settings
from workyard.service.container import Services, build_services
from workyard.store.postgres.store import PostgresStore


@pytest.fixture
async def replicas(
    settings: Settings, clock: ManualClock, wall: ManualClock
) -> AsyncIterator[list[Services]]:
    """Two servers' services on one PostgreSQL schema (replicas in one process)."""
    require_postgres()
    async with fresh_schema() as schema:
        group = [
            build_services(
                settings, clock=clock, wall=wall, store=PostgresStore(PG_URL, schema=schema)
            )
            for _ in range(2)
        ]
        for svc in group:
            await svc.start()
        try:
            yield group
        finally:
            for svc in group:
                await svc.stop()
