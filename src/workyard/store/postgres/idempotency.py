"""``PostgresStore``'s idempotency keys (migration 0005; see ``store/idempotency.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from workyard.clock import Instant
from workyard.store.idempotency import IdempotencyClaim, IdempotencyRow, StoredResponse
from workyard.store.postgres.queries import Q

__all__ = ["IdempotencyKeys"]


class IdempotencyKeys:
    """Mixed into ``PostgresStore``, which provides ``_conn``."""

    def _conn(self) -> AbstractAsyncContextManager[Any]:  # overridden by PostgresStore
        raise NotImplementedError

    @staticmethod
    async def _claim_key(conn: asyncpg.Connection, claim: IdempotencyClaim | None) -> None:
        """Insert the request's key in this transaction; raise if another request holds it."""
        if claim is None:
            return
        q = Q["claim_idempotency_key"]
        status = await conn.execute(q.sql, *q.args(claim.params()))
        if not status.endswith(" 1"):
            raise claim.conflict()

    async def get_idempotency(
        self, token_id: str, key: str, expired_before: Instant
    ) -> StoredResponse | None:
        q = Q["get_idempotency_key"]
        params = {"token_id": token_id, "key": key, "expired_before": expired_before}
        async with self._conn() as conn:
            row = await conn.fetchrow(q.sql, *q.args(params))
        if row is None:
            return None
        body = None if row["body"] is None else bytes(row["body"])
        return StoredResponse(row["request_hash"], row["status"], body, int(row["created_at"]))

    async def finish_idempotency(self, claim: IdempotencyClaim, status: int, body: bytes) -> None:
        q = Q["finish_idempotency_key"]
        params = {"token_id": claim.token_id, "key": claim.key, "request_hash": claim.request_hash}
        async with self._conn() as conn:
            await conn.execute(q.sql, *q.args(params | {"status": status, "body": body}))

    async def prune_idempotency(self, expired_before: Instant, limit: int) -> int:
        q = Q["prune_idempotency_keys"]
        async with self._conn() as conn:
            status = await conn.execute(
                q.sql, *q.args({"expired_before": expired_before, "limit": limit})
            )
        return int(status.rsplit(" ", 1)[-1])

    async def export_idempotency(self, after: tuple[str, str], limit: int) -> list[IdempotencyRow]:
        q = Q["export_idempotency_keys"]
        params = {"token_id": after[0], "key": after[1], "limit": limit}
        async with self._conn() as conn:
            rows = await conn.fetch(q.sql, *q.args(params))
        return [IdempotencyRow.of(row) for row in rows]

    async def import_idempotency(self, rows: Sequence[IdempotencyRow]) -> None:
        q = Q["insert_idempotency_key"]
        async with self._conn() as conn, conn.transaction():
            await conn.executemany(q.sql, [q.args(row.params()) for row in rows])
