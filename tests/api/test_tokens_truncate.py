"""PostgreSQL: ``TRUNCATE tokens`` (``workyard db copy --force`` does one) reaches every replica
through a statement-level trigger: each drops its token cache, and watched credentials end."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import _client, assert_error
from tests.pg import PG_URL
from workyard.domain.models import TokenKind
from workyard.service.container import Services
from workyard.store.postgres.store import PostgresStore

BOUND = 10.0  # seconds to wait for the change feed (a bound, not a timing assertion)


async def _truncate_tokens(services: Services) -> None:
    store = services.store
    assert isinstance(store, PostgresStore) and store.schema is not None
    conn = await asyncpg.connect(PG_URL, server_settings={"search_path": store.schema})
    try:
        await conn.execute("TRUNCATE tokens")  # no row trigger fires for this
    finally:
        await conn.close()


async def test_truncating_tokens_drops_every_replicas_cache(replicas: list[Services]) -> None:
    a, b = replicas
    _, clear = await a.tokens.create("member", TokenKind.MEMBER)
    async with _client(a, clear) as on_a, _client(b, clear) as on_b:
        for http in (on_a, on_b):
            assert (await http.get("/environments")).status_code == 200  # cached on both
        heard = [svc.tokens.changed() for svc in replicas]
        await _truncate_tokens(a)
        for event in heard:
            await asyncio.wait_for(event.wait(), BOUND)  # each replica heard it on its feed
        for http in (on_a, on_b):
            assert_error(await http.get("/environments"), 401, "authentication_error")


async def test_watched_credentials_end_when_tokens_are_truncated(
    replicas: list[Services],
) -> None:
    """What ends open streams and blocked polls: the credential's watch, on every replica."""
    a, b = replicas
    _, clear = await a.tokens.create("worker", TokenKind.WORKER)
    principals = [await svc.tokens.authenticate(f"Bearer {clear}") for svc in replicas]
    with a.tokens.watch(principals[0]) as dead_a, b.tokens.watch(principals[1]) as dead_b:
        assert not dead_a.done() and not dead_b.done()
        await _truncate_tokens(a)
        await asyncio.wait_for(asyncio.shield(dead_a), BOUND)
        await asyncio.wait_for(asyncio.shield(dead_b), BOUND)
