"""``SqliteStore``'s idempotency keys (migration 0005; see ``store/idempotency.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from workyard.clock import Instant
from workyard.store.idempotency import IdempotencyClaim, IdempotencyRow, StoredResponse
from workyard.store.sql import load_queries

__all__ = ["IdempotencyKeys"]

Q = load_queries("workyard.store.sqlite")


class _Executes(Protocol):
    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor: ...


class IdempotencyKeys:
    """Mixed into ``SqliteStore``, which provides ``_db``."""

    @property
    def _db(self) -> Any:  # overridden by SqliteStore
        raise NotImplementedError

    @staticmethod
    def _claim_key(db: _Executes, claim: IdempotencyClaim | None) -> None:
        """Insert the request's key in this transaction; raise if another request holds it."""
        if claim is None:
            return
        if db.execute(Q["claim_idempotency_key"], claim.params()).rowcount != 1:
            raise claim.conflict()

    async def get_idempotency(
        self, token_id: str, key: str, expired_before: Instant
    ) -> StoredResponse | None:
        params = {"token_id": token_id, "key": key, "expired_before": expired_before}
        row = self._db.execute(Q["get_idempotency_key"], params).fetchone()
        if row is None:
            return None
        body = None if row["body"] is None else bytes(row["body"])
        return StoredResponse(row["request_hash"], row["status"], body, int(row["created_at"]))

    async def finish_idempotency(self, claim: IdempotencyClaim, status: int, body: bytes) -> None:
        params = {"token_id": claim.token_id, "key": claim.key, "request_hash": claim.request_hash}
        self._db.execute(Q["finish_idempotency_key"], params | {"status": status, "body": body})

    async def prune_idempotency(self, expired_before: Instant, limit: int) -> int:
        params = {"expired_before": expired_before, "limit": limit}
        return int(self._db.execute(Q["prune_idempotency_keys"], params).rowcount)

    async def export_idempotency(self, after: tuple[str, str], limit: int) -> list[IdempotencyRow]:
        params = {"token_id": after[0], "key": after[1], "limit": limit}
        rows = self._db.execute(Q["export_idempotency_keys"], params).fetchall()
        return [IdempotencyRow.of(row) for row in rows]

    async def import_idempotency(self, rows: Sequence[IdempotencyRow]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                db.execute(Q["insert_idempotency_key"], row.params())
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
