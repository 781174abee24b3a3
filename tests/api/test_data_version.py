"""``Store.data_version`` is asked once per request, and a change made behind the server's back is
still seen by the next request (SQLite: another connection commits; PostgreSQL: the change feed).

Work items are cached once: on SQLite the store's exact cache answers item credentials too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import httpx
import pytest

from tests.api.test_work_table import work_path
from tests.conftest import assert_error, create_environment, create_session
from tests.pg import PG_URL
from workyard.service.container import Services
from workyard.store.postgres.store import PostgresStore
from workyard.store.sqlite.store import SqliteStore


def _connection(services: Services) -> sqlite3.Connection:
    store = services.store
    assert isinstance(store, SqliteStore)
    return store._db.raw


@contextmanager
def _statements(services: Services) -> Iterator[list[str]]:
    """Every statement the server's SQLite connection runs while the block does."""
    seen: list[str] = []
    conn = _connection(services)
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def _versions(statements: list[str]) -> int:
    return sum("data_version" in s for s in statements)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_data_version_is_asked_once_per_request(
    services: Services, client: httpx.AsyncClient
) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    wid = session["work_id"]
    ack = await client.post(work_path(env_id, wid, "/ack"), headers={"Worker-ID": "w"})
    secret = ack.json()["secret"]
    item_auth = {"authorization": f"Bearer {secret}"}
    requests = [
        ("GET", "/environments", {}),
        ("GET", work_path(env_id, wid), {}),
        ("POST", work_path(env_id, wid, "/heartbeat"), {}),
        ("POST", work_path(env_id, wid, "/heartbeat"), item_auth),  # item credential + get_work
        ("GET", f"/sessions/{session['id']}", item_auth),
    ]
    for method, path, headers in requests:
        with _statements(services) as statements:
            response = await client.request(method, path, headers=headers, json=None)
        assert response.status_code == 200, (path, response.text)
        assert _versions(statements) == 1, (method, path, statements)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_request_after_another_connection_writes_sees_it(
    services: Services, client: httpx.AsyncClient
) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id)
    wid = session["work_id"]
    ack = await client.post(work_path(env_id, wid, "/ack"), headers={"Worker-ID": "w"})
    item_auth = {"authorization": f"Bearer {ack.json()['secret']}"}
    heartbeat = work_path(env_id, wid, "/heartbeat")
    assert (await client.post(heartbeat, headers=item_auth)).status_code == 200  # all cached now
    assert isinstance(services.store, SqliteStore)
    other = sqlite3.connect(services.store.path, isolation_level=None)
    try:  # another process stops the item: its credential dies, the item is stopped
        other.execute(
            "UPDATE work_items SET state = 'stopped', version = version + 1 WHERE id = ?", (wid,)
        )
    finally:
        other.close()
    assert_error(await client.post(heartbeat, headers=item_auth), 401, "authentication_error")
    assert (await client.get(work_path(env_id, wid))).json()["state"] == "stopped"
    assert_error(await client.post(heartbeat), 409, "invalid_request_error")


async def test_work_items_are_cached_once(services: Services) -> None:
    """SQLite's store answers item credentials from its exact cache; PostgreSQL's holds hints
    only, so there the credential service keeps its own, dropped item by item from the feed."""
    store = services.store
    assert store.caches_work is isinstance(store, SqliteStore)
    assert store.caches_work is not store.replicated


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_data_version_follows_the_change_feed(services: Services) -> None:
    store = services.store
    assert isinstance(store, PostgresStore)
    first = store.data_version()
    assert first is not None  # following: caches may answer
    unfollowed = PostgresStore(PG_URL, schema=store.schema)
    await unfollowed.open()
    try:
        assert unfollowed.data_version() is None  # not following its feed: nothing is cached
    finally:
        await unfollowed.close()
    admin = await asyncpg.connect(PG_URL)
    try:  # the feed is cut: until it has resynced, nothing is trusted; then the number moved
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            store.application_name + "/listener",
        )
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.wait_for(_moved(store, first), 10)  # a bound, not a timing assertion


async def _moved(store: PostgresStore, first: int) -> None:
    while store.data_version() in (first, None):  # noqa: ASYNC110 - set by the feed task
        await asyncio.sleep(0.01)
