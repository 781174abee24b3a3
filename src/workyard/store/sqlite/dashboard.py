"""``SqliteStore``'s dashboard sessions (migration 0006; see ``store/dashboard.py``)."""

from __future__ import annotations

from typing import Any

from workyard.clock import Instant
from workyard.store.dashboard import DashboardSession
from workyard.store.sql import load_queries

__all__ = ["DashboardSessions"]

Q = load_queries("workyard.store.sqlite")


class DashboardSessions:
    """Mixed into ``SqliteStore``, which provides ``_db``."""

    @property
    def _db(self) -> Any:  # overridden by SqliteStore
        raise NotImplementedError

    async def insert_dashboard_session(self, row: DashboardSession) -> None:
        params = {
            "id_hash": row.id_hash,
            "token_id": row.token_id,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
        }
        self._db.execute(Q["insert_dashboard_session"], params)

    async def get_dashboard_session(self, id_hash: str, now: Instant) -> DashboardSession | None:
        params = {"id_hash": id_hash, "now": now}
        row = self._db.execute(Q["get_dashboard_session"], params).fetchone()
        if row is None:
            return None
        return DashboardSession(
            row["id_hash"], row["token_id"], int(row["created_at"]), int(row["expires_at"])
        )

    async def delete_dashboard_session(self, id_hash: str) -> bool:
        cursor = self._db.execute(Q["delete_dashboard_session"], {"id_hash": id_hash})
        return int(cursor.rowcount) == 1

    async def prune_dashboard_sessions(self, expired_before: Instant, limit: int) -> int:
        params = {"expired_before": expired_before, "limit": limit}
        return int(self._db.execute(Q["prune_dashboard_sessions"], params).rowcount)
