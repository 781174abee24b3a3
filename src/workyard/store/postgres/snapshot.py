"""A consistent readiness snapshot plus the transaction snapshot that orders it against NOTIFYs."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from workyard.domain.models import WorkState
from workyard.store.base import QueueSnapshotRow, ReadinessSnapshot
from workyard.store.named import Compiled

__all__ = ["TxSnapshot", "read_snapshot"]


@dataclass(frozen=True, slots=True)
class TxSnapshot:
    """``pg_current_snapshot()``: which transaction ids a reader could see."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]

    @staticmethod
    def parse(text: str) -> TxSnapshot:
        xmin, xmax, xip = text.split(":")
        running = frozenset(int(x) for x in xip.split(",") if x)
        return TxSnapshot(int(xmin), int(xmax), running)

    def visible(self, xid: int) -> bool:
        """Whether a transaction's effects are already in the snapshot."""
        if xid < self.xmin:
            return True
        return xid < self.xmax and xid not in self.in_progress


async def read_snapshot(
    conn: asyncpg.Connection, queries: dict[str, Compiled]
) -> ReadinessSnapshot:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        token = await conn.fetchval(queries["current_snapshot"].sql)
        counts = await conn.fetch(queries["undelivered_counts"].sql)
        rows = await conn.fetch(queries["queue_snapshot"].sql)
    return ReadinessSnapshot(
        undelivered={r["environment_id"]: int(r["n"]) for r in counts},
        rows=[
            QueueSnapshotRow(
                r["id"],
                r["environment_id"],
                WorkState(r["state"]),
                r["delivered_at"],
                r["lease_expires_at"],
            )
            for r in rows
        ],
        token=str(token),
    )
