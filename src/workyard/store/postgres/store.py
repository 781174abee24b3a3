"""The PostgreSQL store (asyncpg): many stateless replicas share one database.

Claims use ``FOR UPDATE SKIP LOCKED``; every work change is published with ``NOTIFY`` in its own
transaction, so replicas keep their readiness indexes exact (see ``feed.py``). The hot writes — a
claim, a work item's compare-and-set, a new session — are one statement each (the write and its
``pg_notify`` in one CTE, an implicit transaction): one round trip.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from workyard.clock import Instant
from workyard.domain.models import Environment, Session, TokenRecord, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store import codec
from workyard.store.base import (
    ChangeFeed,
    EnvironmentFilter,
    ReadinessSnapshot,
    Record,
    SessionFilter,
    StoreUnavailableError,
    WorkChange,
    Write,
)
from workyard.store.idempotency import pending_claim
from workyard.store.postgres.browse import PostgresBrowsing
from workyard.store.postgres.dashboard import DashboardSessions
from workyard.store.postgres.events import EventReads
from workyard.store.postgres.feed import CHANNEL_PREFIX, Follower, encode_changes
from workyard.store.postgres.idempotency import IdempotencyKeys
from workyard.store.postgres.migrate import migrate
from workyard.store.postgres.prune import PostgresPruning
from workyard.store.postgres.queries import Q
from workyard.store.postgres.snapshot import read_snapshot
from workyard.store.postgres.writes import (
    WrittenWork,
    apply_write,
    one_statement,
    sessions_with_events,
)
from workyard.store.routing import EXPORT
from workyard.store.window import merge_scans, window

__all__ = ["PostgresStore", "Q"]

T = TypeVar("T")
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,  # a connection left mid-operation by a dropped link
)
_NOTIFY_CHUNK = 20  # changes per NOTIFY payload (PostgreSQL caps payloads at 8000 bytes)
# The claim and expiry scans must walk their partial indexes in order. Right after a bulk load the
# planner's statistics can make a bitmap scan plus a sort look cheaper: 150 ms instead of 1 ms on a
# 200 k-row queue. Every statement of ours reads rows in the order of an index it names in
# schema.sql, so the store's connections penalize bitmap scans and sorts for the whole session
# (a per-transaction ``SET LOCAL`` would cost a transaction and a round trip per claim).
_INDEX_ORDER_PLANS = {"enable_bitmapscan": "off", "enable_sort": "off"}


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Pool ``reset``: our sessions hold no state to clear (no LISTEN, cursors, advisory locks or
    session ``SET``s; transactions are always closed), so skip asyncpg's reset round trip."""


class PostgresStore(
    IdempotencyKeys, DashboardSessions, PostgresPruning, PostgresBrowsing, EventReads
):
    """``Store`` on PostgreSQL ≥ 14."""

    replicated = True
    caches_work = False  # ``cached_work`` holds hints only: other replicas write too

    def __init__(
        self, url: str, *, pool_size: int = 8, schema: str | None = None, origin: str | None = None
    ) -> None:
        self.url = url
        self.pool_size = pool_size
        self.schema = schema
        self.origin = origin or secrets.token_hex(8)
        self._pool: asyncpg.Pool | None = None
        self._written = WrittenWork()
        self._follower: Follower | None = None
        self.channel = (
            CHANNEL_PREFIX + "public"
        )  # per schema, so deployments sharing a DB don't mix

    @property
    def application_name(self) -> str:
        return "workyard" if self.schema is None else f"workyard:{self.schema}"

    def _server_settings(self, purpose: str = "") -> dict[str, str]:
        settings = {"plan_cache_mode": "force_custom_plan", **_INDEX_ORDER_PLANS}
        if "application_name=" not in self.url:  # a name in the URL wins
            settings["application_name"] = self.application_name + purpose
        if self.schema:
            settings["search_path"] = self.schema
        return settings

    async def connect(self, purpose: str = "") -> asyncpg.Connection:
        """A dedicated connection (listener, migrations, tools); ``purpose`` tags its name."""
        try:
            conn: asyncpg.Connection = await asyncpg.connect(
                self.url, server_settings=self._server_settings(purpose)
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {exc}") from exc
        return conn

    # lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        conn = await self.connect()
        try:
            await migrate(conn)
            self.channel = CHANNEL_PREFIX + str(await conn.fetchval("SELECT current_schema()"))
        finally:
            await conn.close()
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.pool_size,
                server_settings=self._server_settings(),
                statement_cache_size=256,  # plans stay custom: see plan_cache_mode
                reset=_keep_session,
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {exc}") from exc

    async def close(self) -> None:
        if self._follower is not None:
            await self._follower.stop()
            self._follower = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def follow(self, feed: ChangeFeed) -> None:
        """Deliver a snapshot, then every later work change (from any replica) to ``feed``."""
        if self._follower is not None:
            await self._follower.stop()
        self._follower = Follower(self, feed)
        await self._follower.start()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise StoreUnavailableError("the PostgreSQL store is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL is unavailable: {exc}") from exc

    def data_version(self) -> int | None:
        """The change feed's generation: it moves at every resync (the feed may have missed
        changes); ``None`` while not following or while the feed is down."""
        return None if self._follower is None else self._follower.generation

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.fetchval("SELECT 1")

    async def _one(self, name: str, conv: Callable[[Any], T], **params: Any) -> T | None:
        q = Q[name]
        async with self._conn() as conn:
            row = await conn.fetchrow(q.sql, *q.args(params))
        return None if row is None else conv(row)

    async def _all(self, name: str, conv: Callable[[Any], T], **params: Any) -> list[T]:
        q = Q[name]
        async with self._conn() as conn:
            rows = await conn.fetch(q.sql, *q.args(params))
        return [conv(row) for row in rows]

    # writes ----------------------------------------------------------------------------------
    async def commit(self, writes: Sequence[Write], changes: Sequence[WorkChange] = ()) -> bool:
        sessions = sessions_with_events(writes)
        claim = pending_claim(writes)
        if claim is None and not sessions and len(changes) <= _NOTIFY_CHUNK:
            feed = {"channel": self.channel, "origin": self.origin}
            single = one_statement(writes, changes, feed)
            if single is not None:
                q, params = single
                async with self._conn() as conn:
                    applied = bool(await conn.fetch(q.sql, *q.args(params)))
                if applied:
                    self._written.remember(writes)
                return applied
            if not changes and len(writes) == 1:  # one statement: an implicit transaction
                async with self._conn() as conn:
                    return await apply_write(conn, writes[0])
        try:
            async with self._conn() as conn, conn.transaction():
                await self._claim_key(conn, claim)
                for write in writes:
                    if not await apply_write(conn, write):
                        raise _Rollback()
                await self._notify(conn, changes, sessions)
        except _Rollback:
            return False
        self._written.remember(writes)
        if claim is not None:
            claim.written = True
        return True

    async def _notify(
        self, conn: asyncpg.Connection, changes: Sequence[WorkChange], sessions: Sequence[str] = ()
    ) -> None:
        """Publish work changes and sessions with new events, in this transaction."""
        q = Q["notify"]
        first = True
        for start in range(0, max(len(changes), 1 if sessions else 0), _NOTIFY_CHUNK):
            params = {
                "channel": self.channel,
                "origin": self.origin,
                "changes": encode_changes(changes[start : start + _NOTIFY_CHUNK]),
                "sessions": json.dumps(list(sessions) if first else []),
            }
            first = False
            await conn.execute(q.sql, *q.args(params))

    # tokens ----------------------------------------------------------------------------------
    async def count_tokens(self) -> int:
        async with self._conn() as conn:
            return int(await conn.fetchval(Q["count_tokens"].sql))

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        return await self._one("token_by_hash", codec.token_from_row, token_hash=token_hash)

    async def get_token(self, token_id: str) -> TokenRecord | None:
        return await self._one("get_token", codec.token_from_row, id=token_id)

    async def list_tokens(self) -> list[TokenRecord]:
        return await self._all("list_tokens", codec.token_from_row)

    # environments ----------------------------------------------------------------------------
    async def get_environment(self, environment_id: str) -> Environment | None:
        return await self._one("get_environment", codec.environment_from_row, id=environment_id)

    async def list_environments(
        self, flt: EnvironmentFilter, page: PageRequest
    ) -> list[Environment]:
        w = window(page, descending=True)
        name = "list_environments_desc" if w.scan_descending else "list_environments_asc"
        rows = await self._all(
            name,
            codec.environment_from_row,
            lo=w.lo,
            hi=w.hi,
            limit=w.limit,
            include_archived=flt.include_archived,
            created_gte=flt.created_gte,
            created_lte=flt.created_lte,
        )
        return rows[::-1] if w.reverse else rows

    async def environment_referenced(self, environment_id: str) -> bool:
        async with self._conn() as conn:
            q = Q["environment_referenced"]
            return bool(await conn.fetchval(q.sql, *q.args({"id": environment_id})))

    # sessions --------------------------------------------------------------------------------
    async def get_session(self, session_id: str) -> Session | None:
        return await self._one("get_session", codec.session_from_row, id=session_id)

    async def list_sessions(
        self, flt: SessionFilter, page: PageRequest, descending: bool
    ) -> list[Session]:
        w = window(page, descending=descending)
        name = "list_sessions_desc" if w.scan_descending else "list_sessions_asc"
        rows = await self._all(
            name,
            codec.session_from_row,
            lo=w.lo,
            hi=w.hi,
            limit=w.limit,
            environment_id=flt.environment_id,
            environment_ids=None if flt.environment_ids is None else list(flt.environment_ids),
            include_archived=flt.include_archived,
            states=None if flt.states is None else [s.value for s in flt.states],
            created_gt=flt.created_gt,
            created_gte=flt.created_gte,
            created_lt=flt.created_lt,
            created_lte=flt.created_lte,
        )
        return rows[::-1] if w.reverse else rows

    # work ------------------------------------------------------------------------------------
    async def get_work(self, work_id: str) -> WorkItem | None:
        return await self._one("get_work", codec.work_from_row, id=work_id)

    def cached_work(self, work_id: str) -> WorkItem | None:
        return self._written.get(work_id)

    async def list_work(
        self, environment_id: str, states: tuple[WorkState, ...] | None, page: PageRequest
    ) -> list[WorkItem]:
        w = window(page, descending=False)
        suffix = "desc" if w.scan_descending else "asc"
        bounds = {"environment_id": environment_id, "lo": w.lo, "hi": w.hi, "limit": w.limit}
        if states is None:
            rows = await self._all(
                f"list_work_{suffix}", codec.work_from_row, **bounds, states=None
            )
        else:
            scans = [
                await self._all(
                    f"list_work_state_{suffix}", codec.work_from_row, **bounds, state=s.value
                )
                for s in dict.fromkeys(states)
            ]
            rows = merge_scans(scans, w, lambda item: item.id)
        return rows[::-1] if w.reverse else rows

    async def claim_work(
        self, environment_id: str, cutoff: Instant, worker_id: str | None, now: Instant
    ) -> WorkItem | None:
        q = Q["claim_work"]  # the claim and its NOTIFY, one statement
        params = {"environment_id": environment_id, "cutoff": cutoff, "worker_id": worker_id}
        params |= {"now": now, "channel": self.channel, "origin": self.origin}
        async with self._conn() as conn:
            row = await conn.fetchrow(q.sql, *q.args(params))
        if row is None:
            return None
        item = codec.work_from_row(row)
        self._written.put(item)
        return item

    async def due_work(self, now: Instant, limit: int) -> list[WorkItem]:
        return await self._all("due_work", codec.work_from_row, now=now, limit=limit)

    async def oldest_queued_created_at(self, environment_id: str) -> Instant | None:
        q = Q["oldest_queued_created_at"]
        async with self._conn() as conn:
            value = await conn.fetchval(q.sql, *q.args({"environment_id": environment_id}))
        return None if value is None else int(value)

    async def readiness_snapshot(self) -> ReadinessSnapshot:
        async with self._conn() as conn:
            return await read_snapshot(conn, Q)

    # whole-database tools ------------------------------------------------------------------------
    async def export(self, kind: type[Record], after: str, limit: int) -> list[Record]:
        name, conv = EXPORT[kind]
        return await self._all(name, conv, after=after, limit=limit)

    async def table_counts(self) -> dict[str, int]:
        async with self._conn() as conn:
            row = await conn.fetchrow(Q["table_counts"].sql)
        return {key: int(value) for key, value in row.items()}

    async def clear_all(self) -> None:
        async with self._conn() as conn:
            await conn.execute(Q["clear_all"].sql)

    # pollers (workers_polling across replicas) -----------------------------------------------
    async def record_pollers(self, seen: Sequence[tuple[str, str, Instant]]) -> None:
        q = Q["record_poller"]
        async with self._conn() as conn:
            await conn.executemany(
                q.sql,
                [
                    q.args({"environment_id": e, "worker_id": w, "last_poll_at": t})
                    for e, w, t in seen
                ],
            )

    async def recent_pollers(self, environment_id: str, since: Instant) -> set[str]:
        rows = await self._all(
            "recent_pollers", lambda r: str(r["worker_id"]), environment_id=environment_id,
            since=since,
        )  # fmt: skip
        return set(rows)

    async def forget_pollers(self, before: Instant) -> None:
        q = Q["forget_pollers"]
        async with self._conn() as conn:
            await conn.execute(q.sql, *q.args({"before": before}))


class _Rollback(Exception):
    pass
