"""The typed store protocol. Stores load, compare-and-set and claim; they hold no business rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from workyard.clock import Instant
from workyard.domain.models import Environment, Event, Session, TokenRecord, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store.dashboard import DashboardSession
from workyard.store.idempotency import IdempotencyClaim, IdempotencyRow, StoredResponse

__all__ = [
    "ALL_TOKENS",
    "PRUNE_END",
    "ChangeFeed",
    "Delete",
    "EnvironmentFilter",
    "EventFilter",
    "Insert",
    "ItemSummary",
    "PurgeEvents",
    "QueueSnapshotRow",
    "ReadinessSnapshot",
    "Record",
    "Replace",
    "SessionFilter",
    "SessionSearch",
    "Store",
    "StoreUnavailableError",
    "WorkChange",
    "Write",
]

Record = Environment | Session | WorkItem | TokenRecord | Event
PRUNE_END = "~"  # sorts after every id: "scan to the end of the table"
ALL_TOKENS = "*"  # in ``ChangeFeed.tokens``: every token may have changed (``TRUNCATE tokens``)


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


@dataclass(frozen=True, slots=True)
class PurgeEvents:
    """Delete every event of a session."""

    session_id: str


Write = Insert | Replace | Delete | PurgeEvents


@dataclass(frozen=True, slots=True)
class EventFilter:
    types: tuple[str, ...] | None = None
    created_gt: Instant | None = None
    created_gte: Instant | None = None
    created_lt: Instant | None = None
    created_lte: Instant | None = None


@dataclass(frozen=True, slots=True)
class EnvironmentFilter:
    include_archived: bool = False
    created_gte: Instant | None = None
    created_lte: Instant | None = None


@dataclass(frozen=True, slots=True)
class SessionFilter:
    environment_id: str | None = None
    environment_ids: tuple[str, ...] | None = None  # any of these (a restricted worker token)
    states: tuple[WorkState, ...] | None = None
    include_archived: bool = False
    created_gt: Instant | None = None
    created_gte: Instant | None = None
    created_lt: Instant | None = None
    created_lte: Instant | None = None


@dataclass(frozen=True, slots=True)
class SessionSearch:
    """What the dashboard finds sessions by, on top of a ``SessionFilter``."""

    title: str | None = None  # a case-insensitive substring of the title
    metadata: tuple[tuple[str, str], ...] = ()  # every pair must match exactly


@dataclass(frozen=True, slots=True)
class QueueSnapshotRow:
    """One non-stopped work item's readiness facts, for rebuilding in-memory indexes."""

    id: str
    environment_id: str
    state: WorkState
    delivered_at: Instant | None
    lease_expires_at: Instant | None


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """The readiness facts of one work item at one version."""

    state: WorkState
    delivered_at: Instant | None
    lease_expires_at: Instant | None

    @staticmethod
    def of(item: WorkItem | None) -> ItemSummary | None:
        if item is None:
            return None
        return ItemSummary(item.state, item.delivered_at, item.lease_expires_at)


@dataclass(frozen=True, slots=True)
class WorkChange:
    """One committed work-item change, as the readiness index (and other replicas) need it."""

    id: str
    environment_id: str
    before: ItemSummary | None
    after: ItemSummary | None

    @staticmethod
    def of(before: WorkItem | None, after: WorkItem | None) -> WorkChange:
        item = after if after is not None else before
        assert item is not None
        return WorkChange(
            item.id, item.environment_id, ItemSummary.of(before), ItemSummary.of(after)
        )


class ChangeFeed(Protocol):
    """Receives a replicated store's work changes (see ``Store.follow``)."""

    def reset(self, snapshot: ReadinessSnapshot) -> None: ...
    def changes(self, changes: Sequence[WorkChange], own: bool) -> None: ...
    def lost(self) -> None: ...
    def tokens(self, token_ids: Sequence[str]) -> None:
        """These tokens were created, changed (revoked) or deleted (by anyone); ``ALL_TOKENS``
        among them: any token may have (the table was truncated)."""
        ...

    def events(self, session_ids: Sequence[str]) -> None:
        """Events were appended to these sessions (on any server)."""
        ...


@dataclass(frozen=True, slots=True)
class ReadinessSnapshot:
    """What the readiness index is rebuilt from; ``token`` orders it against change feeds."""

    undelivered: dict[str, int]
    rows: list[QueueSnapshotRow]
    token: str | None = None


class Store(Protocol):
    """Everything the service layer needs from a database.

    ``replicated`` stores (PostgreSQL) may be shared by several servers: they publish every work
    change to all of them through ``follow``; a single-node store (SQLite) leaves that to us.
    """

    replicated: bool
    caches_work: bool  # ``get_work`` answers exactly from memory what this server wrote or read

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...
    def data_version(self) -> int | None:
        """A number that moves whenever rows may have changed without this server being told,
        so in-process caches must be dropped; ``None`` while that cannot be known (nothing may
        be cached then). SQLite: ``PRAGMA data_version`` (another process committed).
        PostgreSQL: the change feed's generation (it moves at every resync), ``None`` while the
        store is not following its feed or the feed is down."""
        ...

    async def commit(self, writes: Sequence[Write], changes: Sequence[WorkChange] = ()) -> bool:
        """Apply all writes in one transaction; ``False`` (nothing applied) on a version miss.

        ``changes`` describe the work-item writes; replicated stores publish them on commit.
        """
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

    # events
    async def list_events(
        self, session_id: str, flt: EventFilter, page: PageRequest, descending: bool
    ) -> list[Event]: ...
    async def list_event_page(
        self,
        session_id: str,
        flt: EventFilter,
        page: PageRequest,
        descending: bool,
        max_bytes: int,
    ) -> tuple[list[Event], bool]:
        """``list_events`` cut short where the stored bodies (in scan order: nearest the anchor
        first; the first row always) would total more than ``max_bytes``: the rows kept, in list
        order, and whether the budget cut any off (their bodies are never loaded)."""
        ...

    # work
    async def get_work(self, work_id: str) -> WorkItem | None: ...
    def cached_work(self, work_id: str) -> WorkItem | None:
        """A hint, never an answer: the item as this server last wrote or claimed it, or ``None``.

        On a replicated store it may be stale. A caller may compute a write from it only if the
        write is a compare-and-set on its version (a success proves the hint was current) and it
        falls back to ``get_work`` for anything it would answer without writing.
        """
        ...

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
    async def readiness_snapshot(self) -> ReadinessSnapshot:
        """Per-environment undelivered counts and every delivered or leased item (startup only)."""
        ...

    # whole-database tools (``workyard db copy``)
    async def export(self, kind: type[Record], after: str, limit: int) -> list[Record]:
        """Every record of a kind (deleted sessions included), by id, after ``after``."""
        ...

    async def table_counts(self) -> dict[str, int]: ...
    async def clear_all(self) -> None: ...

    # replicated stores only (single-node stores accept the calls and do nothing)
    async def follow(self, feed: ChangeFeed) -> None:
        """Deliver a snapshot, then every committed work change from any server, to ``feed``."""
        ...

    async def record_pollers(self, seen: Sequence[tuple[str, str, Instant]]) -> None:
        """Remember ``(environment_id, worker_id, polled_at)`` for other replicas' stats."""
        ...

    async def recent_pollers(self, environment_id: str, since: Instant) -> set[str]: ...
    async def forget_pollers(self, before: Instant) -> None: ...

    # dashboard reads (each one a bounded keyset or limited scan)
    async def search_sessions(
        self, flt: SessionFilter, search: SessionSearch, page: PageRequest, scan: int
    ) -> tuple[list[Session], str | None]:
        """``list_sessions`` (newest first) narrowed by ``search``, looking at no more than the
        ``scan`` sessions of the page's window nearest its anchor. Returns the rows and, when
        ``scan`` cut the search short, the last id looked at (a search may resume after it)."""
        ...

    async def list_work_held(
        self,
        environment_id: str,
        worker_id: str,
        states: tuple[WorkState, ...] | None,
        page: PageRequest,
        scan: int,
    ) -> tuple[list[WorkItem], str | None]:
        """``list_work`` narrowed to items delivered to or held by ``worker_id``, bounded like
        ``search_sessions``."""
        ...

    async def session_titles(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        """The titles of these sessions (deleted ones and unknown ids are left out)."""
        ...

    async def get_event(self, session_id: str, event_id: str) -> Event | None: ...
    async def finished_work(
        self, environment_id: str, since: Instant, limit: int
    ) -> list[WorkItem]:
        """Up to ``limit`` items stopped at or after ``since``, latest first."""
        ...

    async def acknowledged_work(
        self, environment_id: str, since: Instant, limit: int
    ) -> list[WorkItem]:
        """Up to ``limit`` items acknowledged at or after ``since``, latest first."""
        ...

    async def poller_times(self, environment_id: str, since: Instant) -> dict[str, Instant]:
        """When each worker last polled, as other replicas recorded it (``record_pollers``)."""
        ...

    # idempotency keys (a keyed request's first commit inserts its key: store/idempotency.py)
    async def get_idempotency(
        self, token_id: str, key: str, expired_before: Instant
    ) -> StoredResponse | None:
        """The key's row unless it was created at or before ``expired_before``."""
        ...

    async def finish_idempotency(self, claim: IdempotencyClaim, status: int, body: bytes) -> None:
        """Record the response of the request that holds ``claim``."""
        ...

    async def prune_idempotency(self, expired_before: Instant, limit: int) -> int:
        """Delete up to ``limit`` expired keys; return how many."""
        ...

    # dashboard sessions (store/dashboard.py): logins to /ui, by the hash of their id
    async def insert_dashboard_session(self, row: DashboardSession) -> None: ...
    async def get_dashboard_session(self, id_hash: str, now: Instant) -> DashboardSession | None:
        """The session unless it expired at or before ``now`` (wall clock)."""
        ...

    async def delete_dashboard_session(self, id_hash: str) -> bool:
        """Delete the session; whether there was one."""
        ...

    async def prune_dashboard_sessions(self, expired_before: Instant, limit: int) -> int:
        """Delete up to ``limit`` sessions that expired at or before ``expired_before``."""
        ...

    async def export_idempotency(self, after: tuple[str, str], limit: int) -> list[IdempotencyRow]:
        """Up to ``limit`` key rows after ``(token_id, key)``, in that order (``db copy``)."""
        ...

    async def import_idempotency(self, rows: Sequence[IdempotencyRow]) -> None:
        """Insert whole key rows, in one transaction (``db copy``)."""
        ...

    # retention (small batches over id ranges; each call is its own short transaction)
    async def prune_scan(self, table: str, after: str, limit: int) -> str:
        """The id ``limit`` rows after ``after`` in ``work_items`` or ``sessions``, else
        ``PRUNE_END``: the next batch is ``(after, upto]``."""
        ...

    async def prune_work(self, before: Instant, after: str, upto: str) -> int:
        """Delete stopped items in ``(after, upto]`` stopped before ``before`` that are not their
        session's current work item; the number deleted."""
        ...

    async def prunable_sessions(self, before: Instant, after: str, upto: str) -> list[str]:
        """Sessions in ``(after, upto]`` archived or deleted before ``before``, no live work."""
        ...

    async def prune_session_part(self, part: str, session_ids: Sequence[str], limit: int) -> int:
        """Delete ``events`` (up to ``limit``), ``work`` (stopped) or ``rows`` of these sessions."""
        ...

    async def count_prunable(self, before: Instant) -> dict[str, int]:
        """What pruning at ``before`` would delete, per table (``db prune --dry-run``)."""
        ...
