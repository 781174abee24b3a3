"""The records workyard stores: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from workyard.clock import Instant

__all__ = [
    "Environment",
    "Event",
    "Session",
    "TokenKind",
    "TokenRecord",
    "WorkItem",
    "WorkState",
]


class WorkState(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"
    ACTIVE = "active"
    STOPPING = "stopping"
    STOPPED = "stopped"


class TokenKind(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    WORKER = "worker"


@dataclass(frozen=True, slots=True)
class Environment:
    id: str
    name: str
    description: str
    config: dict[str, Any]
    metadata: dict[str, str]
    archived_at: Instant | None
    created_at: Instant
    updated_at: Instant
    version: int = 1

    @property
    def config_type(self) -> str:
        return str(self.config["type"])

    @property
    def self_hosted(self) -> bool:
        return self.config_type == "self_hosted"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A work item and its lease bookkeeping (fields after ``metadata`` are not on the wire)."""

    id: str
    environment_id: str
    session_id: str
    state: WorkState
    created_at: Instant
    acknowledged_at: Instant | None = None
    started_at: Instant | None = None
    latest_heartbeat_at: Instant | None = None
    stop_requested_at: Instant | None = None
    stopped_at: Instant | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    delivered_at: Instant | None = None
    delivered_to: str | None = None
    holder: str | None = None
    lease_expires_at: Instant | None = None
    version: int = 1
    secret_hash: str | None = None  # SHA-256 of the credential the current lease's ack minted


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    environment_id: str
    agent: Any
    title: str | None
    metadata: dict[str, str]
    work_id: str | None
    archived_at: Instant | None
    created_at: Instant
    updated_at: Instant
    deleted_at: Instant | None = None
    version: int = 1
    work_state: WorkState | None = None  # joined from the latest work item when read
    last_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a session's append-only log; ``fields`` are the type-specific members."""

    id: str
    session_id: str
    type: str
    processed_at: Instant
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    name: str
    kind: TokenKind
    token_hash: str
    environment_ids: tuple[str, ...]
    created_at: Instant
    expires_at: Instant | None = None
    revoked_at: Instant | None = None

    def usable(self, now: Instant) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at
