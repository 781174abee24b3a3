"""The chaos run's client-side ledger: every 2xx the clients got, and what it implies.

A write acknowledged with a 2xx must be visible afterwards. A write whose answer never came (the
server died under it, the connection broke) is *uncertain*: it may or may not have happened, and the
checks accept either outcome for it, but nothing else.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "KeyLedger", "LeaseOp", "Ledger"]


@dataclass
class KeyLedger:
    """One metadata key written by one client in sequence: every value sent, in order, with its
    answer (``None`` while in flight, 0 when none came), and the index of the last acked one."""

    sent: list[tuple[str, int | None]] = field(default_factory=list)
    acked: int | None = None

    def allowed(self, since: int | None) -> set[str]:
        """Values the key may hold if the last ack seen at ``since`` still holds or was superseded
        by a later write that succeeded, may have succeeded, or is still in flight."""
        if since is None:
            return set()
        later = self.sent[since + 1 :]
        refused = range(400, 500)  # a 4xx changed nothing; anything else may have
        return {self.sent[since][0]} | {v for v, status in later if status not in refused}


@dataclass(frozen=True)
class LeaseOp:
    """A worker's successful fenced operation (ack or heartbeat) on one lease of one item."""

    work_id: str
    worker: str
    lease: str  # the lease's acknowledged_at: two leases of one worker on one item differ
    ts: str  # the server's timestamp of the operation (acknowledged_at / last_heartbeat)


@dataclass
class Fault:
    kind: str
    at: float  # time.monotonic() when injected
    recovered_at: float | None = None
    detail: str = ""

    @property
    def recovery(self) -> float | None:
        return None if self.recovered_at is None else self.recovered_at - self.at


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: dict[str, str] = field(default_factory=dict)  # acked session id -> its work id
    session_meta: dict[str, str] = field(default_factory=dict)  # session id -> "n" sent at create
    keys: dict[tuple[str, str], KeyLedger] = field(default_factory=dict)  # (path, key)
    events: dict[str, list[str]] = field(default_factory=dict)  # session -> acked ids, in order
    event_tags: dict[str, set[str]] = field(default_factory=dict)  # session -> tags, any outcome
    sse: dict[str, list[str]] = field(default_factory=dict)  # session -> ids streamed, in order
    lease_ops: list[LeaseOp] = field(default_factory=list)
    rejected_stale: int = 0  # fenced operations of a stale holder that the server refused
    stopped: set[str] = field(default_factory=set)  # work ids a worker's stop left `stopped`
    worker_log: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    acked_writes: int = 0
    uncertain_writes: int = 0
    refused_writes: dict[int, int] = field(default_factory=dict)  # status -> count
    last_ok: float = 0.0  # when the latest-sent acknowledged write was answered
    last_ok_sent: float = 0.0  # when it was sent (so answers in flight at a fault do not count)

    def ok(self, sent: float | None) -> None:
        """Count one acknowledged write sent at ``sent`` (call with the lock held)."""
        self.acked_writes += 1
        now = time.monotonic()
        sent = now if sent is None else sent
        if sent > self.last_ok_sent:
            self.last_ok, self.last_ok_sent = now, sent

    def refused(self, status: int) -> None:
        """A write answered with an error status (or 0: no answer; call with the lock held)."""
        if status == 0 or status >= 500:
            self.uncertain_writes += 1
        self.refused_writes[status] = self.refused_writes.get(status, 0) + 1

    def session_created(self, sid: str, work_id: str, n: str, sent: float | None = None) -> None:
        with self.lock:
            self.sessions[sid] = work_id
            self.session_meta[sid] = n
            self.ok(sent)

    def key_sending(self, path: str, key: str, value: str) -> int:
        """Record a write about to be sent; its index, for ``key_sent``."""
        with self.lock:
            entry = self.keys.setdefault((path, key), KeyLedger())
            entry.sent.append((value, None))
            return len(entry.sent) - 1

    def key_sent(self, path: str, key: str, index: int, status: int, sent: float) -> None:
        with self.lock:
            entry = self.keys[(path, key)]
            entry.sent[index] = (entry.sent[index][0], status)
            if 200 <= status < 300:
                entry.acked = index
                self.ok(sent)
            else:
                self.refused(status)

    def events_sent(
        self, sid: str, tags: list[str], ids: list[str] | None, status: int, sent: float
    ) -> None:
        with self.lock:
            self.event_tags.setdefault(sid, set()).update(tags)
            if ids is not None:
                self.events.setdefault(sid, []).extend(ids)
                self.ok(sent)
            else:
                self.refused(status)

    def streamed(self, sid: str, event_id: str) -> None:
        with self.lock:
            self.sse.setdefault(sid, []).append(event_id)

    def worker_line(self, line: dict[str, Any]) -> None:
        with self.lock:
            self.worker_log.append(line)
            if line.get("ev") != "op":
                return
            status = int(line["status"])
            if line["op"] in ("ack", "heartbeat") and status == 200:
                self.lease_ops.append(
                    LeaseOp(line["work_id"], line["worker"], line["lease"], line["ts"])
                )
            if line["op"] in ("ack", "heartbeat", "stop"):
                if status == 200:
                    self.ok(float(line["sent"]))
                else:
                    self.refused(status)
            if line["op"] == "stop" and line.get("state") == "stopped":
                self.stopped.add(line["work_id"])

    def first_ok_after(self, since: float) -> float | None:
        with self.lock:
            return self.last_ok if self.last_ok_sent > since else None

    def snapshot_sessions(self) -> dict[str, str]:
        with self.lock:
            return dict(self.sessions)
