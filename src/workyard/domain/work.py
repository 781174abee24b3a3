"""The work state machine: ``(item, operation, now) -> new item | error``. Pure.

This module is the single source of truth for spec/work.md. Stores only load, compare-and-set and
claim; the service applies these functions between a load and a compare-and-set.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace

from workyard.clock import Instant
from workyard.domain.metadata import apply_patch
from workyard.domain.models import WorkItem, WorkState
from workyard.errors import ConflictError, PreconditionFailedError

__all__ = [
    "DEFAULT_RECLAIM_MS",
    "MAX_RECLAIM_MS",
    "MAX_TTL_SECONDS",
    "MIN_TTL_SECONDS",
    "NO_HEARTBEAT",
    "PENDING_WINDOW_MS",
    "Heartbeat",
    "ack",
    "clamp_ttl",
    "credential_valid",
    "deliver",
    "deliverable",
    "expire",
    "grant",
    "heartbeat",
    "is_live",
    "stop",
    "update_metadata",
]

NO_HEARTBEAT = "NO_HEARTBEAT"
DEFAULT_RECLAIM_MS = 5000
MAX_RECLAIM_MS = 10**12  # ~31 years: larger windows behave the same ("never redeliver")
PENDING_WINDOW_MS = 5000
MIN_TTL_SECONDS = 10
MAX_TTL_SECONDS = 600
_US_PER_S = 1_000_000
LEASED = frozenset({WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING})


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The outcome of a successful heartbeat."""

    item: WorkItem
    ttl_seconds: int


def is_live(item: WorkItem) -> bool:
    return item.state is not WorkState.STOPPED


def expire(item: WorkItem, now: Instant) -> WorkItem:
    """The item as it is at ``now``: an expired lease is applied exactly at its deadline."""
    deadline = item.lease_expires_at
    if deadline is None or now < deadline or item.state not in LEASED:
        return item
    if item.state is WorkState.STOPPING:
        return replace(
            item, state=WorkState.STOPPED, stopped_at=deadline, lease_expires_at=None,
            secret_hash=None,
        )  # fmt: skip
    return _requeued(item)


def _requeued(item: WorkItem) -> WorkItem:
    return replace(
        item,
        state=WorkState.QUEUED,
        acknowledged_at=None,
        started_at=None,
        latest_heartbeat_at=None,
        delivered_at=None,
        delivered_to=None,
        holder=None,
        lease_expires_at=None,
        secret_hash=None,
    )


def deliverable(item: WorkItem, now: Instant, reclaim_older_than_ms: int) -> bool:
    """Whether a poll with this reclaim window may deliver the item now."""
    if item.state is not WorkState.QUEUED:
        return False
    return item.delivered_at is None or now - item.delivered_at >= reclaim_older_than_ms * 1000


def deliver(item: WorkItem, worker_id: str | None, now: Instant) -> WorkItem:
    """Record a delivery (the state stays ``queued``)."""
    return replace(item, delivered_at=now, delivered_to=worker_id)


def _recorded_worker(item: WorkItem) -> str | None:
    return item.delivered_to if item.state is WorkState.QUEUED else item.holder


def ack(item: WorkItem, worker_id: str | None, now: Instant, default_ttl: int) -> WorkItem:
    """Claim an item: ``queued → starting`` with an ack lease; retries by the holder are no-ops."""
    recorded = _recorded_worker(item)
    if worker_id is not None and recorded is not None and worker_id != recorded:
        raise ConflictError("Work item was delivered to a different worker; it cannot be acked.")
    if item.state in (WorkState.STARTING, WorkState.ACTIVE):
        return item
    if item.state is not WorkState.QUEUED:
        raise ConflictError(f"Work item is {item.state.value}; only queued work can be acked.")
    return replace(
        item,
        state=WorkState.STARTING,
        acknowledged_at=now,
        holder=worker_id if worker_id is not None else item.delivered_to,
        lease_expires_at=now + default_ttl * _US_PER_S,
    )


def grant(item: WorkItem, secret_hash: str) -> WorkItem:
    """An acked item with a fresh credential: its hash replaces the previous one (if any)."""
    return replace(item, secret_hash=secret_hash)


def credential_valid(item: WorkItem | None, secret_hash: str, now: Instant) -> bool:
    """Whether an item credential with this hash works now: the current lease's, and leased."""
    if item is None:
        return False
    current = expire(item, now)
    if current.state not in LEASED or current.secret_hash is None:
        return False
    return hmac.compare_digest(current.secret_hash, secret_hash)


def clamp_ttl(desired: int | None, default_ttl: int) -> int:
    if desired is None:
        return default_ttl
    return max(MIN_TTL_SECONDS, min(MAX_TTL_SECONDS, desired))


def _precondition_holds(item: WorkItem, expected: str | Instant | None) -> bool:
    if expected is None:
        return True
    if expected == NO_HEARTBEAT:
        return item.latest_heartbeat_at is None
    return item.latest_heartbeat_at == expected


def heartbeat(
    item: WorkItem,
    expected: str | Instant | None,
    desired_ttl: int | None,
    now: Instant,
    default_ttl: int,
) -> Heartbeat:
    """Extend the lease. ``expected`` is ``None``, ``NO_HEARTBEAT`` or an instant.

    ``latest_heartbeat_at`` strictly increases (by at least 1 µs) so that every successful heartbeat
    issues a distinct fencing token, even when two land in the same microsecond.
    """
    if item.state not in LEASED:
        raise ConflictError(f"Work item is {item.state.value}; it holds no lease to heartbeat.")
    if not _precondition_holds(item, expected):
        raise PreconditionFailedError(
            "The lease precondition failed: the lease is held by someone else."
        )
    ttl = clamp_ttl(desired_ttl, default_ttl)
    beat = now if item.latest_heartbeat_at is None else max(now, item.latest_heartbeat_at + 1)
    new = replace(item, latest_heartbeat_at=beat, lease_expires_at=beat + ttl * _US_PER_S)
    if item.started_at is None:  # the first heartbeat of the lease, whatever its state
        new = replace(new, started_at=beat)
    if item.state is WorkState.STARTING:
        new = replace(new, state=WorkState.ACTIVE)
    return Heartbeat(item=new, ttl_seconds=ttl)


def stop(item: WorkItem, force: bool, now: Instant) -> WorkItem:
    """Graceful (two-step for leased work) or forced stop; stopping a stopped item is a no-op."""
    if item.state is WorkState.STOPPED:
        return item
    if force or item.state in (WorkState.QUEUED, WorkState.STOPPING):
        return replace(
            item, state=WorkState.STOPPED, stopped_at=now, lease_expires_at=None, secret_hash=None
        )
    return replace(item, state=WorkState.STOPPING, stop_requested_at=now)


def update_metadata(item: WorkItem, patch: object) -> WorkItem:
    """Merge-patch the metadata, in any state."""
    return replace(item, metadata=apply_patch(item.metadata, patch))
