"""The typed store protocol. Stores load, compare-and-set and claim; they hold no business rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from workyard.clock import Instant
from workyard.domain.models import Environment, Session, TokenRecord, WorkItem, WorkState
from workyard.domain.pagination import PageRequest

__all__ = [
    "Delete",
    "EnvironmentFilter",
    "Insert",
    "QueueSnapshotRow",
    "Record",
    "Replace",
    "SessionFilter",
    "Store",
    "StoreUnavailableError",
    "Write",
]

Record = Environment | Session | WorkItem | TokenRecord


class StoreUnavailableError(Exception):
    """The database cannot be reached; the API answers 503."""


@dataclass(frozen=True, slots=True)
class Insert:
    record: Record


@dataclass(frozen=True, slots=True)
class Replace:
    """Overwrite ``record`` if the stored version is still ``expected_version``."""

    record: Record
    expected_version: int


@dataclass(frozen=True, slots=True)
class Delete:
    kind: type[Record]
    id: str


Write = Insert | Replace | Delete


@dataclass(frozen=True, slots=True)
class EnvironmentFilter:
    include_archived: bool = False
    created_gte: Instant | None = None
    created_lte: Instant | None = None


@dataclass(frozen=True, slots=True)
class SessionFilter:
    environment_id: str | None = None
    states: tuple[WorkState, ...] | None = None
    include_archived: bool = False
    created_gt: Instant | None = None
    created_gte: Instant | None = None
    created_lt: Instant | None = None
    created_lte: Instant | None = None


@dataclass(frozen=True, slots=True)
class QueueSnapshotRow:
    """One non-stopped work item's readiness facts, for rebuilding in-memory indexes."""

    id: str
    environment_id: str
    state: WorkState
    delivered_at: Instant | None
    lease_expires_at: Instant | None


class Store(Protocol):
    """Everything the service layer needs from a database."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    async def commit(self, writes: Sequence[Write]) -> bool:
        """Apply all writes in one transaction; ``False`` (nothing applied) on a version miss."""
        ...

    # tokens
    async def count_tokens(self) -> int: ...
    async def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...
    async def list_tokens(self) -> list[TokenRecord]: ...
    async def get_token(self, token_id: str) -> TokenRecord | None: ...

    # environments
    async def get_environment(self, environment_id: str) -> Environment | None: ...
    async def list_environments(
        self, flt: EnvironmentFilter, page: PageRequest
    ) -> list[Environment]: ...
    async def environment_referenced(self, environment_id: str) -> bool: ...

    # sessions
    async def get_session(self, session_id: str) -> Session | None: ...
    async def list_sessions(
        self, flt: SessionFilter, page: PageRequest, descending: bool
    ) -> list[Session]: ...

    # work
    async def get_work(self, work_id: str) -> WorkItem | None: ...
    async def list_work(
        self, environment_id: str, states: tuple[WorkState, ...] | None, page: PageRequest
    ) -> list[WorkItem]: ...
    async def claim_work(
        self, environment_id: str, cutoff: Instant, worker_id: str | None, now: Instant
    ) -> WorkItem | None:
        """Deliver the oldest ``queued`` item undelivered or delivered at or before ``cutoff``."""
        ...

    async def due_work(self, now: Instant, limit: int) -> list[WorkItem]:
        """Items whose lease deadline is at or before ``now``, soonest first."""
        ...

    async def oldest_queued_created_at(self, environment_id: str) -> Instant | None: ...
    async def queue_snapshot(self) -> list[QueueSnapshotRow]:
        """Every queued or leased item's readiness facts (startup only)."""
        ...

    async def undelivered_counts(self) -> dict[str, int]:
        """Per environment, queued items never delivered (startup only)."""
        ...
