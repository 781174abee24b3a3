"""Follow every replica's work changes: LISTEN, snapshot, then apply what the snapshot lacks.

Order of operations makes the follower exact: it LISTENs first (buffering), then reads a snapshot
in a repeatable-read transaction together with ``pg_current_snapshot()``; a notification is applied
only if its transaction is not visible in that snapshot. PostgreSQL delivers notifications in commit
order, so every replica applies the same changes in the same order. If the listening connection
drops, the feed is told (``lost``) and the follower reconnects and starts over with a new snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from workyard.domain.models import WorkState
from workyard.store.base import ChangeFeed, ItemSummary, WorkChange
from workyard.store.postgres.queries import Q
from workyard.store.postgres.snapshot import TxSnapshot, read_snapshot

if TYPE_CHECKING:
    from workyard.store.postgres.store import PostgresStore

__all__ = ["CHANNEL_PREFIX", "Follower", "decode_changes", "encode_changes"]

CHANNEL_PREFIX = "workyard_work:"
log = logging.getLogger("workyard.store.postgres")
_RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0)


def _summary(s: ItemSummary | None) -> list[Any] | None:
    return None if s is None else [s.state.value, s.delivered_at, s.lease_expires_at]


def _unsummary(v: list[Any] | None) -> ItemSummary | None:
    return None if v is None else ItemSummary(WorkState(v[0]), v[1], v[2])


def encode_changes(changes: Sequence[WorkChange]) -> str:
    rows = [[c.id, c.environment_id, _summary(c.before), _summary(c.after)] for c in changes]
    return json.dumps(rows, separators=(",", ":"))


def decode_changes(rows: list[list[Any]]) -> list[WorkChange]:
    return [WorkChange(r[0], r[1], _unsummary(r[2]), _unsummary(r[3])) for r in rows]


class Follower:
    """Owns the listening connection and keeps ``feed`` in step with the database."""

    def __init__(self, store: PostgresStore, feed: ChangeFeed) -> None:
        self._store = store
        self._feed = feed
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._resyncs = 0
        self.generation: int | None = None  # ``Store.data_version``: None while not following

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="workyard-pg-follower")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        self.generation = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._follow_once()
                attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost or refused: tell the feed, retry
                self.generation = None
                self._feed.lost()
                delay = _RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)]
                attempt += 1
                log.warning("change feed interrupted (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    async def _follow_once(self) -> None:
        conn = await self._store.connect("/listener")
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _: closed.set())
        buffered: list[str] = []
        snapshot: TxSnapshot | None = None

        def on_notify(_c: Any, _pid: int, _channel: str, payload: str) -> None:
            if snapshot is None:
                buffered.append(payload)
            else:
                self._deliver(snapshot, payload)

        try:
            await conn.add_listener(self._store.channel, on_notify)
            data = await read_snapshot(conn, Q)
            assert data.token is not None
            snapshot = TxSnapshot.parse(data.token)
            self._resyncs += 1
            self.generation = self._resyncs  # before reset: its listeners may ask for it
            self._feed.reset(data)
            for payload in buffered:
                self._deliver(snapshot, payload)
            buffered.clear()
            self._ready.set()
            await self._watch(conn, closed)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _watch(self, conn: asyncpg.Connection, closed: asyncio.Event) -> None:
        """Return (raising) when the connection dies; probe it every few seconds."""
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), 5)
            if not closed.is_set():
                await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
        raise ConnectionError("listening connection closed")

    def _deliver(self, snapshot: TxSnapshot, payload: str) -> None:
        try:
            message = json.loads(payload)
            tokens = [str(t) for t in message.get("t", [])]
            if tokens:  # token changes (a trigger): always worth passing on
                self._feed.tokens(tokens)
            if snapshot.visible(int(message["x"])):
                return
            changes = decode_changes(message.get("c", []))
            sessions = [str(s) for s in message.get("s", [])]
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            log.error("ignoring a malformed change notification")
            return
        if changes:
            self._feed.changes(changes, own=message.get("o") == self._store.origin)
        if sessions:
            self._feed.events(sessions)
