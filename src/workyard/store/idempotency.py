"""Idempotency keys in the stores: the claim a keyed request's first write carries.

The API layer (``api/idempotency.py``) sets :data:`CLAIM` for a POST with an ``Idempotency-Key``;
the first successful ``Store.commit`` of that request inserts the key's row in the same
transaction as its writes, so a write never exists without its key, nor a key without its write.
If another request already holds the key, the commit applies nothing and raises
:class:`IdempotencyConflictError` (and marks the claim ``lost``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from workyard.clock import Instant
from workyard.errors import ConflictError

__all__ = [
    "CLAIM",
    "IdempotencyClaim",
    "IdempotencyConflictError",
    "IdempotencyRow",
    "StoredResponse",
    "pending_claim",
    "suspended",
]


@dataclass(slots=True)
class IdempotencyClaim:
    """One keyed request's key; ``written`` once committed with a write, ``lost`` to a rival."""

    token_id: str
    key: str
    request_hash: str
    created_at: Instant
    expired_before: Instant  # rows created at or before this are expired and may be replaced
    written: bool = False
    lost: bool = False
    task: asyncio.Task[Any] | None = None  # the request's task; tasks it spawns do not carry it

    def params(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "created_at": self.created_at,
            "expired_before": self.expired_before,
        }

    def conflict(self) -> IdempotencyConflictError:
        self.lost = True
        return IdempotencyConflictError(param="Idempotency-Key")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A key's row: the request it was first used with and, once finished, its response."""

    request_hash: str
    status: int | None  # None while the first request is still in flight
    body: bytes | None
    created_at: Instant


@dataclass(frozen=True, slots=True)
class IdempotencyRow:
    """A whole key row, as ``workyard db copy`` moves it between stores."""

    token_id: str
    key: str
    request_hash: str
    status: int | None
    body: bytes | None
    created_at: Instant

    def params(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "status": self.status,
            "body": self.body,
            "created_at": self.created_at,
        }

    @staticmethod
    def of(row: Any) -> IdempotencyRow:
        body = None if row["body"] is None else bytes(row["body"])
        return IdempotencyRow(
            row["token_id"], row["key"], row["request_hash"], row["status"], body,
            int(row["created_at"]),
        )  # fmt: skip


class IdempotencyConflictError(ConflictError):
    default_message = "A request with this Idempotency-Key is still in progress; retry later."


CLAIM: ContextVar[IdempotencyClaim | None] = ContextVar("workyard_idempotency", default=None)


def pending_claim(writes: Sequence[object]) -> IdempotencyClaim | None:
    """The claim a commit of ``writes`` must carry: set, not yet written, and writes to carry."""
    claim = CLAIM.get()
    if claim is None or claim.written or not writes:
        return None
    if claim.task is not None and claim.task is not asyncio.current_task():
        return None  # a background task started during the request: not the request's write
    return claim


@contextmanager
def suspended() -> Iterator[None]:
    """Commits inside are not the request's own work (e.g. lease expiry on the way)."""
    token = CLAIM.set(None)
    try:
        yield
    finally:
        CLAIM.reset(token)
