"""How a commit's writes become statements: the hot shapes as one statement with their NOTIFY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from workyard.domain.models import Event, Session, WorkItem
from workyard.store import codec
from workyard.store.base import Delete, Insert, PurgeEvents, Record, Replace, WorkChange, Write
from workyard.store.named import Compiled
from workyard.store.postgres.feed import encode_changes
from workyard.store.postgres.queries import Q
from workyard.store.routing import DELETE, INSERT, PARAMS, REPLACE

__all__ = ["WrittenWork", "apply_write", "one_statement", "sessions_with_events"]


class WrittenWork:
    """The work items this replica last wrote or claimed, as the database stored them: hints for
    ``Store.cached_work`` (other replicas may have changed them since)."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._items: dict[str, WorkItem] = {}

    def get(self, work_id: str) -> WorkItem | None:
        return self._items.get(work_id)

    def put(self, item: WorkItem) -> None:
        self._items.pop(item.id, None)
        self._items[item.id] = item
        if len(self._items) > self._limit:
            del self._items[next(iter(self._items))]

    def remember(self, writes: Sequence[Write]) -> None:
        for write in writes:
            if isinstance(write, Insert | Replace) and isinstance(write.record, WorkItem):
                self.put(codec.work_from_row(codec.work_params(write.record)))  # as stored


def one_statement(
    writes: Sequence[Write], changes: Sequence[WorkChange], feed: dict[str, str]
) -> tuple[Compiled, dict[str, Any]] | None:
    """A work item's compare-and-set, or a new session with its work item, as one statement that
    also publishes ``changes`` (``feed``: channel and origin); it returns a row when it applied."""
    if not changes:
        return None
    feed = feed | {"changes": encode_changes(changes)}
    first = writes[0].record if writes and isinstance(writes[0], Insert | Replace) else None
    if len(writes) == 1 and isinstance(writes[0], Replace) and isinstance(first, WorkItem):
        params = codec.work_params(first)
        params["expected_version"] = writes[0].expected_version
        return Q["replace_work_notify"], params | feed
    if len(writes) == 2 and isinstance(writes[0], Insert) and isinstance(writes[1], Insert):
        item = writes[1].record
        if isinstance(first, Session) and isinstance(item, WorkItem):
            params = codec.work_params(item)
            params.update({f"s_{k}": v for k, v in codec.session_params(first).items()})
            return Q["insert_session_work_notify"], params | feed
    return None


async def apply_write(conn: asyncpg.Connection, write: Write) -> bool:
    """Run one write; ``False`` when a compare-and-set or a guarded delete matched nothing."""
    if isinstance(write, PurgeEvents):
        q = Q["purge_session_events"]
        await conn.execute(q.sql, *q.args({"session_id": write.session_id}))
        return True
    if isinstance(write, Delete):
        q = Q[DELETE[write.kind]]
        try:
            status = await conn.execute(q.sql, *q.args({"id": write.id}))
        except asyncpg.ForeignKeyViolationError:  # referenced by a row committed meanwhile
            return False
        return bool(status.endswith(" 1"))
    record: Record = write.record
    params = PARAMS[type(record)](record)
    if isinstance(write, Insert):
        q = Q[INSERT[type(record)]]
        await conn.execute(q.sql, *q.args(params))
        return True
    params["expected_version"] = write.expected_version
    q = Q[REPLACE[type(record)]]
    status = await conn.execute(q.sql, *q.args(params))
    return bool(status.endswith(" 1"))


def sessions_with_events(writes: Sequence[Write]) -> list[str]:
    """Sessions whose log changed (appends, or purges that end their streams)."""
    found = {w.session_id for w in writes if isinstance(w, PurgeEvents)}
    found |= {
        w.record.session_id for w in writes if isinstance(w, Insert) and isinstance(w.record, Event)
    }
    return sorted(found)
