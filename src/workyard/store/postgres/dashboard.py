"""``PostgresStore``'s dashboard sessions (migration 0006; see ``store/dashboard.py``)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from workyard.clock import Instant
from workyard.store.dashboard import DashboardSession
from workyard.store.postgres.queries import Q

__all__ = ["DashboardSessions"]


class DashboardSessions:
    """Mixed into ``PostgresStore``, which provides ``_conn``."""

    def _conn(self) -> AbstractAsyncContextManager[Any]:  # overridden by PostgresStore
        raise NotImplementedError

    async def insert_dashboard_session(self, row: DashboardSession) -> None:
        q = Q["insert_dashboard_session"]
        params = {
            "id_hash": row.id_hash,
            "token_id": row.token_id,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
        }
        async with self._conn() as conn:
            await conn.execute(q.sql, *q.args(params))

    async def get_dashboard_session(self, id_hash: str, now: Instant) -> DashboardSession | None:
        q = Q["get_dashboard_session"]
        async with self._conn() as conn:
            row = await conn.fetchrow(q.sql, *q.args({"id_hash": id_hash, "now": now}))
        if row is None:
            return None
        return DashboardSession(
            row["id_hash"], row["token_id"], int(row["created_at"]), int(row["expires_at"])
        )

    async def delete_dashboard_session(self, id_hash: str) -> bool:
        q = Q["delete_dashboard_session"]
        async with self._conn() as conn:
            status = await conn.execute(q.sql, *q.args({"id_hash": id_hash}))
        return bool(status == "DELETE 1")

    async def prune_dashboard_sessions(self, expired_before: Instant, limit: int) -> int:
        q = Q["prune_dashboard_sessions"]
        async with self._conn() as conn:
            status = await conn.execute(
                q.sql, *q.args({"expired_before": expired_before, "limit": limit})
            )
        return int(status.rsplit(" ", 1)[-1])
