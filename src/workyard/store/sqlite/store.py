"""The embedded SQLite store: WAL mode, one connection, statements run on the event loop.

Every method runs its statements synchronously (SQLite answers in microseconds), so a method's
transaction can never interleave with another coroutine's: the event loop is the single writer.
A commit of one write is one statement (SQLite makes it its own transaction); work items this
connection wrote are not read back (``cache.py``); WAL checkpoints run on a thread
(``checkpoint.py``), never inside a commit on the event loop.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from workyard.clock import Instant
from workyard.domain.models import Environment, Session, TokenRecord, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store import codec
from workyard.store.base import (
    PRUNE_END,
    ChangeFeed,
    Delete,
    EnvironmentFilter,
    Insert,
    PurgeEvents,
    QueueSnapshotRow,
    ReadinessSnapshot,
    Record,
    Replace,
    SessionFilter,
    StoreUnavailableError,
    WorkChange,
    Write,
)
from workyard.store.idempotency import IdempotencyClaim, pending_claim
from workyard.store.routing import DELETE, EXPORT, INSERT, PARAMS, REPLACE
from workyard.store.sql import load_queries
from workyard.store.sqlite.browse import SqliteBrowsing
from workyard.store.sqlite.cache import WorkCache
from workyard.store.sqlite.checkpoint import Checkpointer
from workyard.store.sqlite.dashboard import DashboardSessions
from workyard.store.sqlite.events import EventReads
from workyard.store.sqlite.idempotency import IdempotencyKeys
from workyard.store.sqlite.migrate import migrate
from workyard.store.window import merge_scans, window

__all__ = ["SqliteStore"]

Q = load_queries("workyard.store.sqlite")
T = TypeVar("T")


class _Guarded:
    """The connection, with SQLite's operational failures (a lock held elsewhere past the busy
    timeout, a full disk, an unreadable file) turned into ``StoreUnavailableError`` (a 503)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    @property
    def raw(self) -> sqlite3.Connection:
        return self._conn


class SqliteStore(IdempotencyKeys, DashboardSessions, SqliteBrowsing, EventReads):
    """``Store`` on a single SQLite file."""

    replicated = False
    caches_work = True

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError("sqlite synchronous must be NORMAL or FULL")
        self.path = path
        self._synchronous = synchronous.upper()
        self._conn: _Guarded | None = None
        self._cache: WorkCache | None = None
        self._checkpointer: Checkpointer | None = None

    # lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
        migrate(conn)
        self._conn = _Guarded(conn)
        self._cache = WorkCache(conn)
        self._checkpointer = Checkpointer(self.path, lambda: conn.total_changes)
        self._checkpointer.start()

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._cache = None

    def data_version(self) -> int:
        """``PRAGMA data_version`` of this store's connection: it moves only when another
        connection (another process: CLI commands, ``workyard db`` tools) commits to the file.
        Read once per request (``cache.py``): the work cache reuses it until the next loop turn."""
        return self._work_cache.data_version()

    async def ping(self) -> None:
        self._db.execute("SELECT 1").fetchone()

    @property
    def _db(self) -> _Guarded:
        if self._conn is None:
            raise StoreUnavailableError("the SQLite store is not open")
        return self._conn

    @property
    def _work_cache(self) -> WorkCache:
        if self._cache is None:
            raise StoreUnavailableError("the SQLite store is not open")
        return self._cache

    def _one(self, name: str, conv: Callable[[sqlite3.Row], T], **params: Any) -> T | None:
        row = self._db.execute(Q[name], params).fetchone()
        return None if row is None else conv(row)

    def _all(self, name: str, conv: Callable[[sqlite3.Row], T], **params: Any) -> list[T]:
        return [conv(row) for row in self._db.execute(Q[name], params).fetchall()]

    # writes ----------------------------------------------------------------------------------
    async def commit(self, writes: Sequence[Write], changes: Sequence[WorkChange] = ()) -> bool:
        db, cache = self._db, self._work_cache
        cache.check_own()
        claim = pending_claim(writes)
        work: list[dict[str, Any]] = []  # the work rows written, as the database now holds them
        if len(writes) == 1 and claim is None:  # one statement is its own transaction
            applied = self._apply(db, writes[0], work)
        else:
            applied = self._transaction(db, writes, work, claim)
        if not applied:
            cache.missed()
            return False
        if claim is not None:
            claim.written = True
        cache.put([codec.work_from_row(row) for row in work])
        return True

    def _transaction(
        self,
        db: _Guarded,
        writes: Sequence[Write],
        work: list[dict[str, Any]],
        claim: IdempotencyClaim | None,
    ) -> bool:
        db.execute("BEGIN IMMEDIATE")
        try:
            self._claim_key(db, claim)
            for write in writes:
                if not self._apply(db, write, work):
                    db.execute("ROLLBACK")
                    return False
            db.execute("COMMIT")
        except BaseException:
            if db.raw.in_transaction:
                db.execute("ROLLBACK")
            raise
        return True

    @staticmethod
    def _apply(db: _Guarded, write: Write, work: list[dict[str, Any]]) -> bool:
        if isinstance(write, PurgeEvents):
            db.execute(Q["purge_session_events"], {"session_id": write.session_id})
            return True
        if isinstance(write, Delete):
            return db.execute(Q[DELETE[write.kind]], {"id": write.id}).rowcount == 1
        record: Record = write.record
        params = PARAMS[type(record)](record)
        if isinstance(record, WorkItem):
            work.append(params)
        if isinstance(write, Insert):
            db.execute(Q[INSERT[type(record)]], params)
            return True
        assert isinstance(write, Replace)
        params["expected_version"] = write.expected_version
        return db.execute(Q[REPLACE[type(record)]], params).rowcount == 1

    # tokens ----------------------------------------------------------------------------------
    async def count_tokens(self) -> int:
        return int(self._db.execute(Q["count_tokens"]).fetchone()[0])

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        return self._one("token_by_hash", codec.token_from_row, token_hash=token_hash)

    async def get_token(self, token_id: str) -> TokenRecord | None:
        return self._one("get_token", codec.token_from_row, id=token_id)

    async def list_tokens(self) -> list[TokenRecord]:
        return self._all("list_tokens", codec.token_from_row)

    # environments ----------------------------------------------------------------------------
    async def get_environment(self, environment_id: str) -> Environment | None:
        return self._one("get_environment", codec.environment_from_row, id=environment_id)

    async def list_environments(
        self, flt: EnvironmentFilter, page: PageRequest
    ) -> list[Environment]:
        w = window(page, descending=True)
        name = "list_environments_desc" if w.scan_descending else "list_environments_asc"
        rows = self._all(
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
        return bool(
            self._db.execute(Q["environment_referenced"], {"id": environment_id}).fetchone()[0]
        )

    # sessions --------------------------------------------------------------------------------
    async def get_session(self, session_id: str) -> Session | None:
        return self._one("get_session", codec.session_from_row, id=session_id)

    async def list_sessions(
        self, flt: SessionFilter, page: PageRequest, descending: bool
    ) -> list[Session]:
        w = window(page, descending=descending)
        name = "list_sessions_desc" if w.scan_descending else "list_sessions_asc"
        states = None if flt.states is None else json.dumps([s.value for s in flt.states])
        rows = self._all(
            name,
            codec.session_from_row,
            lo=w.lo,
            hi=w.hi,
            limit=w.limit,
            environment_id=flt.environment_id,
            environment_ids=None
            if flt.environment_ids is None
            else json.dumps(flt.environment_ids),
            include_archived=flt.include_archived,
            states=states,
            created_gt=flt.created_gt,
            created_gte=flt.created_gte,
            created_lt=flt.created_lt,
            created_lte=flt.created_lte,
        )
        return rows[::-1] if w.reverse else rows

    # work ------------------------------------------------------------------------------------
    async def get_work(self, work_id: str) -> WorkItem | None:
        cache = self._work_cache
        item = cache.get(work_id)
        if item is None:
            item = self._one("get_work", codec.work_from_row, id=work_id)
            if item is not None:
                cache.put([item])
        return item

    def cached_work(self, work_id: str) -> WorkItem | None:
        return None  # get_work itself answers from the (exact) cache

    async def list_work(
        self, environment_id: str, states: tuple[WorkState, ...] | None, page: PageRequest
    ) -> list[WorkItem]:
        w = window(page, descending=False)
        suffix = "desc" if w.scan_descending else "asc"
        bounds = {"environment_id": environment_id, "lo": w.lo, "hi": w.hi, "limit": w.limit}
        if states is None:
            rows = self._all(f"list_work_{suffix}", codec.work_from_row, **bounds)
        else:
            scans = [
                self._all(f"list_work_state_{suffix}", codec.work_from_row, **bounds, state=s.value)
                for s in dict.fromkeys(states)
            ]
            rows = merge_scans(scans, w, lambda item: item.id)
        return rows[::-1] if w.reverse else rows

    async def claim_work(
        self, environment_id: str, cutoff: Instant, worker_id: str | None, now: Instant
    ) -> WorkItem | None:
        db, cache = self._db, self._work_cache
        cache.check_own()
        params = {"environment_id": environment_id, "cutoff": cutoff, "worker_id": worker_id}
        rows = db.execute(Q["claim_work"], params | {"now": now}).fetchall()  # to completion
        if not rows:
            return None
        item = codec.work_from_row(rows[0])
        cache.put([item])
        return item

    async def due_work(self, now: Instant, limit: int) -> list[WorkItem]:
        return self._all("due_work", codec.work_from_row, now=now, limit=limit)

    async def oldest_queued_created_at(self, environment_id: str) -> Instant | None:
        row = self._db.execute(
            Q["oldest_queued_created_at"], {"environment_id": environment_id}
        ).fetchone()
        return None if row is None else int(row[0])

    async def readiness_snapshot(self) -> ReadinessSnapshot:
        return ReadinessSnapshot(self._undelivered_counts(), self._queue_snapshot())

    async def export(self, kind: type[Record], after: str, limit: int) -> list[Record]:
        name, conv = EXPORT[kind]
        return self._all(name, conv, after=after, limit=limit)

    async def table_counts(self) -> dict[str, int]:
        row = self._db.execute(Q["table_counts"]).fetchone()
        return {key: int(row[key]) for key in row.keys()}  # noqa: SIM118 - sqlite3.Row iterates values

    async def clear_all(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            names = ("clear_events", "clear_work", "clear_sessions", "clear_environments")
            for name in (*names, "clear_tokens", "clear_idempotency_keys"):
                db.execute(Q[name])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def follow(self, feed: ChangeFeed) -> None:
        return None

    async def record_pollers(self, seen: Sequence[tuple[str, str, Instant]]) -> None:
        return None

    async def recent_pollers(self, environment_id: str, since: Instant) -> set[str]:
        return set()

    async def forget_pollers(self, before: Instant) -> None:
        return None

    def _queue_snapshot(self) -> list[QueueSnapshotRow]:
        return self._all(
            "queue_snapshot",
            lambda r: QueueSnapshotRow(
                r["id"], r["environment_id"], WorkState(r["state"]), r["delivered_at"],
                r["lease_expires_at"],
            ),
        )  # fmt: skip

    def _undelivered_counts(self) -> dict[str, int]:
        rows = self._db.execute(Q["undelivered_counts"]).fetchall()
        return {row["environment_id"]: int(row["n"]) for row in rows}

    # retention -------------------------------------------------------------------------------
    async def prune_scan(self, table: str, after: str, limit: int) -> str:
        name = "prune_scan_work" if table == "work_items" else "prune_scan_sessions"
        row = self._db.execute(Q[name], {"after": after, "offset": limit - 1}).fetchone()
        return PRUNE_END if row is None else str(row[0])

    async def prune_work(self, before: Instant, after: str, upto: str) -> int:
        params = {"before": before, "after": after, "upto": upto}
        return int(self._db.execute(Q["prune_work"], params).rowcount)

    async def prunable_sessions(self, before: Instant, after: str, upto: str) -> list[str]:
        params = {"before": before, "after": after, "upto": upto}
        return [str(r[0]) for r in self._db.execute(Q["prunable_sessions"], params).fetchall()]

    async def prune_session_part(self, part: str, session_ids: Sequence[str], limit: int) -> int:
        params = {"ids": json.dumps(list(session_ids)), "limit": limit}
        return int(self._db.execute(Q[f"prune_session_{part}"], params).rowcount)

    async def count_prunable(self, before: Instant) -> dict[str, int]:
        row = self._db.execute(Q["count_prunable"], {"before": before}).fetchone()
        return {key: int(row[key]) for key in row.keys()}  # noqa: SIM118 - sqlite3.Row iterates values
