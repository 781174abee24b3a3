"""PostgreSQL-only store behaviour: migrations, schema.sql, query plans, replicas, availability."""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

import asyncpg
import pytest

from tests.pg import PG_URL, fresh_schema
from tests.store.records import SECOND, T0, env, ident, insert, session, work
from workyard.domain.models import Environment, WorkState
from workyard.store import codec
from workyard.store.base import Delete, StoreUnavailableError
from workyard.store.postgres.migrate import migrate
from workyard.store.postgres.store import PostgresStore, Q
from workyard.store.sql import read_migrations

MIGRATIONS = read_migrations("workyard.store.postgres")


async def _connect(schema: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(
        PG_URL, server_settings={"search_path": schema}
    )
    return conn


# migrations --------------------------------------------------------------------------------------
async def test_migrations_are_recorded_and_a_second_open_applies_nothing(pg_schema: str) -> None:
    first = PostgresStore(PG_URL, schema=pg_schema)
    await first.open()
    await first.close()
    conn = await _connect(pg_schema)
    try:
        rows = await conn.fetch("SELECT version, name, applied_at FROM schema_migrations")
        assert sorted((r["version"], r["name"]) for r in rows) == [(v, n) for v, n, _ in MIGRATIONS]

        second = PostgresStore(PG_URL, schema=pg_schema)
        await second.open()
        try:
            assert await second.count_tokens() == 0
        finally:
            await second.close()
        again = await conn.fetch("SELECT version, name, applied_at FROM schema_migrations")
        assert sorted(map(tuple, again)) == sorted(map(tuple, rows))  # same rows, same times
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_concurrent_opens_of_a_fresh_schema_all_succeed(pg_schema: str) -> None:
    stores = [PostgresStore(PG_URL, schema=pg_schema, pool_size=2) for _ in range(5)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        for s in stores:
            await s.ping()
            assert await s.list_tokens() == []
        await insert(stores[0], env(1))
        assert await stores[4].get_environment(ident("env", 1)) == env(1)
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    conn = await _connect(pg_schema)
    try:
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == [v for v, _, _ in MIGRATIONS]
    finally:
        await conn.close()


# schema.sql --------------------------------------------------------------------------------------
async def _describe(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    def neutral(text: str | None) -> str | None:
        return None if text is None else text.replace(f"{schema}.", "").replace(f'"{schema}".', "")

    columns = await conn.fetch(
        "SELECT table_name, column_name, ordinal_position, data_type, is_nullable,"
        " column_default, collation_name, character_maximum_length, numeric_precision"
        " FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name <> 'schema_migrations'"
        " ORDER BY table_name, ordinal_position",
        schema,
    )
    indexes = await conn.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = $1 AND tablename <> 'schema_migrations' ORDER BY indexname",
        schema,
    )
    constraints = await conn.fetch(
        "SELECT cl.relname, con.contype, pg_get_constraintdef(con.oid) AS def"
        " FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid"
        " JOIN pg_namespace ns ON ns.oid = cl.relnamespace"
        " WHERE ns.nspname = $1 AND cl.relname <> 'schema_migrations'"
        " ORDER BY 1, 2, 3",
        schema,
    )
    triggers = await conn.fetch(
        "SELECT event_object_table, trigger_name, event_manipulation, action_timing,"
        " action_statement FROM information_schema.triggers WHERE trigger_schema = $1"
        " ORDER BY 1, 2, 3",
        schema,
    )
    every_trigger = await conn.fetch(  # TRUNCATE triggers too (information_schema omits them)
        "SELECT cl.relname, t.tgname, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t"
        " JOIN pg_class cl ON cl.oid = t.tgrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace"
        " WHERE ns.nspname = $1 AND NOT t.tgisinternal ORDER BY 1, 2",
        schema,
    )
    return {
        "triggers": [(*tuple(r)[:4], neutral(r["action_statement"])) for r in triggers],
        "every_trigger": [(r["relname"], r["tgname"], neutral(r["def"])) for r in every_trigger],
        "columns": [tuple(r) for r in columns],
        "indexes": [(r["tablename"], r["indexname"], neutral(r["indexdef"])) for r in indexes],
        "constraints": [(r["relname"], r["contype"], neutral(r["def"])) for r in constraints],
    }


async def test_schema_sql_equals_what_the_migrations_build(pg_schema: str) -> None:
    migrated = PostgresStore(PG_URL, schema=pg_schema)
    await migrated.open()
    await migrated.close()
    text = resources.files("workyard.store.postgres").joinpath("schema.sql").read_text()
    async with fresh_schema() as declared:
        conn = await _connect(declared)
        try:
            await conn.execute(text)
            built = await _describe(conn, pg_schema)
            written = await _describe(conn, declared)
        finally:
            await conn.close()
    assert built == written
    assert len(built["columns"]) > 40 and len(built["indexes"]) >= 8
    assert ("work_items", "work_queued") in [(t, n) for t, n, _ in built["indexes"]]
    assert {t[1] for t in built["triggers"]} == {"tokens_changed"}
    assert {t[1] for t in built["every_trigger"]} == {"tokens_changed", "tokens_truncated"}


# query plans -------------------------------------------------------------------------------------
async def test_hot_queries_use_the_partial_indexes(pg_store: PostgresStore, pg_schema: str) -> None:
    envs = [env(n) for n in range(1, 5)]
    await insert(pg_store, *envs)
    now = T0 + 10_000 * SECOND
    rows: list[dict[str, Any]] = []
    for n in range(1, 2001):
        e = envs[n % 4].id
        if n % 20 == 0:  # 5 % queued
            item = work(n, e)
        elif n % 20 == 1:  # 5 % leased
            item = work(n, e, state=WorkState.ACTIVE, lease_expires_at=now + n * SECOND)
        else:
            item = work(n, e, state=WorkState.STOPPED, stopped_at=T0)
        rows.append(
            {"id": item.id, "environment_id": item.environment_id, "session_id": item.session_id,
             "state": item.state.value, "created_at": item.created_at, "metadata": "{}",
             "stopped_at": item.stopped_at, "lease_expires_at": item.lease_expires_at,
             "acknowledged_at": None, "started_at": None, "latest_heartbeat_at": None,
             "stop_requested_at": None, "delivered_at": None, "delivered_to": None,
             "holder": None, "version": 1, "secret_hash": None}
        )  # fmt: skip
    conn = await pg_store.connect()  # the store's own settings (search_path, custom plans)
    try:
        q = Q["insert_work"]
        await conn.executemany(q.sql, [q.args(r) for r in rows])
        await conn.execute("ANALYZE work_items")
        cases: list[tuple[str, dict[str, Any], str]] = [
            ("claim_work", {"environment_id": envs[1].id, "cutoff": now - 5 * SECOND,
                            "worker_id": "w", "now": now, "channel": pg_store.channel,
                            "origin": "o"}, "work_queued"),
            ("due_work", {"now": now + 100 * SECOND, "limit": 100}, "work_leases"),
            ("oldest_queued_created_at", {"environment_id": envs[2].id}, "work_queued"),
            ("list_work_state_asc", {"environment_id": envs[1].id, "state": "active",
                                     "lo": "", "hi": "~", "limit": 101}, "work_by_state"),
            ("list_work_state_desc", {"environment_id": envs[1].id, "state": "active",
                                      "lo": "", "hi": "~", "limit": 101}, "work_by_state"),
            # queued rows are also in the partial index: either index reads only them
            ("list_work_state_desc", {"environment_id": envs[1].id, "state": "queued",
                                      "lo": "", "hi": "~", "limit": 101}, "Index"),
        ]  # fmt: skip
        for name, params, index in cases:
            query = Q[name]
            plan = "\n".join(
                r[0] for r in await conn.fetch("EXPLAIN " + query.sql, *query.args(params))
            )
            assert index in plan, (name, plan)
            assert "Seq Scan on work_items" not in plan, (name, plan)
    finally:
        await conn.close()
    # the data is still intact and the queries answer correctly on it
    assert await pg_store.oldest_queued_created_at(envs[0].id) == work(20, envs[0].id).created_at
    due = await pg_store.due_work(now + 41 * SECOND, 100)
    assert [w.id for w in due] == [ident("work", 1), ident("work", 21), ident("work", 41)]


# replicas ----------------------------------------------------------------------------------------
async def test_claims_race_across_two_replicas(pg_store: PostgresStore, pg_schema: str) -> None:
    other = PostgresStore(PG_URL, schema=pg_schema, pool_size=8)
    await other.open()
    try:
        a = env(1)
        items = [work(n, a.id) for n in range(1, 8)]
        await insert(pg_store, a, *items)
        now = T0
        replicas = (pg_store, other)
        results = await asyncio.gather(
            *(replicas[i % 2].claim_work(a.id, now - 5 * SECOND, f"w{i}", now) for i in range(30))
        )
        claimed = sorted(r.id for r in results if r is not None)
        assert claimed == [w.id for w in items]
    finally:
        await other.close()


async def test_schemas_are_isolated(pg_store: PostgresStore) -> None:
    await insert(pg_store, env(1))
    async with fresh_schema() as elsewhere:
        other = PostgresStore(PG_URL, schema=elsewhere)
        await other.open()
        try:
            assert await other.get_environment(ident("env", 1)) is None
            await insert(other, env(1, name="other"))
        finally:
            await other.close()
    assert await pg_store.get_environment(ident("env", 1)) == env(1)


async def test_delete_racing_a_session_insert_is_refused(pg_store: PostgresStore) -> None:
    e = env(1)
    await insert(pg_store, e)
    writer = await pg_store.connect()
    admin = await asyncpg.connect(PG_URL)
    try:
        tx = writer.transaction()
        await tx.start()
        q = Q["insert_session"]
        await writer.execute(q.sql, *q.args(codec.session_params(session(1, e.id))))
        writer_pid = await writer.fetchval("SELECT pg_backend_pid()")
        deleting = asyncio.create_task(pg_store.commit([Delete(Environment, e.id)]))
        # wait (bounded) until the delete is blocked behind the uncommitted insert; the state is in
        # the database, so there is no event to await but pg_blocking_pids() to ask
        blocked = "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
        async with asyncio.timeout(10):
            while not await admin.fetchval(blocked, writer_pid):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await tx.commit()
        assert await deleting is False
    finally:
        await writer.close()
        await admin.close()
    assert await pg_store.get_environment(e.id) == e


# availability ------------------------------------------------------------------------------------
async def test_unreachable_database_is_store_unavailable(postgres_required: None) -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:9/none", schema="x")
    with pytest.raises(StoreUnavailableError):
        await store.open()
