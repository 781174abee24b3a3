"""Typed result objects decoded from API responses.

Each object is a frozen dataclass built by ``from_dict`` from the JSON the server sent. Unknown
fields are ignored (newer servers may add some); timestamps stay strings exactly as the server wrote
them; the decoded dict is kept as ``raw`` so that callers can print or forward it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "Deleted",
    "Environment",
    "HeartbeatResult",
    "Page",
    "QueueStats",
    "ResponseShapeError",
    "Session",
    "WorkItem",
    "expect_object",
]

T = TypeVar("T")


class ResponseShapeError(ValueError):
    """A response body did not have the shape of the expected object."""


def expect_object(value: object, what: str = "response") -> Mapping[str, Any]:
    """``value`` as a JSON object, or :class:`ResponseShapeError`."""
    if not isinstance(value, Mapping):
        raise ResponseShapeError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ResponseShapeError(f"{key!r} must be a string")
    return value


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ResponseShapeError(f"{key!r} must be a string")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ResponseShapeError(f"{key!r} must be a string or null")
    return value


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResponseShapeError(f"{key!r} must be an integer")
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ResponseShapeError(f"{key!r} must be a boolean")
    return value


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    return dict(expect_object(value, repr(key)))


def _str_map(data: Mapping[str, Any], key: str) -> dict[str, str]:
    mapping = _object(data, key)
    if not all(isinstance(v, str) for v in mapping.values()):
        raise ResponseShapeError(f"{key!r} values must be strings")
    return mapping


@dataclass(frozen=True)
class Environment:
    """Where a session's work runs (``env_…``)."""

    id: str
    name: str
    description: str
    config: dict[str, Any]
    metadata: dict[str, str]
    archived_at: str | None
    created_at: str
    updated_at: str
    type: str = "environment"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def environment_type(self) -> str:
        """``self_hosted`` or ``cloud`` (``config.type``); empty when the server sent none."""
        value = self.config.get("type", "")
        return value if isinstance(value, str) else ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        return cls(
            id=_required_str(data, "id"),
            name=_str(data, "name"),
            description=_str(data, "description"),
            config=_object(data, "config"),
            metadata=_str_map(data, "metadata"),
            archived_at=_opt_str(data, "archived_at"),
            created_at=_str(data, "created_at"),
            updated_at=_str(data, "updated_at"),
            type=_str(data, "type", "environment"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Session:
    """One task run by a worker (``sess_…``); ``status`` is derived from its latest work item."""

    id: str
    environment_id: str
    status: str
    title: str | None
    agent: Any
    metadata: dict[str, str]
    work_id: str | None
    archived_at: str | None
    created_at: str
    updated_at: str
    type: str = "session"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        return cls(
            id=_required_str(data, "id"),
            environment_id=_str(data, "environment_id"),
            status=_str(data, "status"),
            title=_opt_str(data, "title"),
            agent=data.get("agent"),
            metadata=_str_map(data, "metadata"),
            work_id=_opt_str(data, "work_id"),
            archived_at=_opt_str(data, "archived_at"),
            created_at=_str(data, "created_at"),
            updated_at=_str(data, "updated_at"),
            type=_str(data, "type", "session"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class WorkItem:
    """A request to a self-hosted worker to run one session (``work_…``)."""

    id: str
    environment_id: str
    state: str
    data: dict[str, Any]
    metadata: dict[str, str]
    created_at: str
    acknowledged_at: str | None
    started_at: str | None
    latest_heartbeat_at: str | None
    stop_requested_at: str | None
    stopped_at: str | None
    secret: Any = None
    type: str = "work"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def session_id(self) -> str | None:
        """The session this item runs, when ``data`` is ``{"type": "session", "id": …}``."""
        value = self.data.get("id") if self.data.get("type") == "session" else None
        return value if isinstance(value, str) else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkItem:
        return cls(
            id=_required_str(data, "id"),
            environment_id=_str(data, "environment_id"),
            state=_required_str(data, "state"),
            data=_object(data, "data"),
            metadata=_str_map(data, "metadata"),
            created_at=_str(data, "created_at"),
            acknowledged_at=_opt_str(data, "acknowledged_at"),
            started_at=_opt_str(data, "started_at"),
            latest_heartbeat_at=_opt_str(data, "latest_heartbeat_at"),
            stop_requested_at=_opt_str(data, "stop_requested_at"),
            stopped_at=_opt_str(data, "stopped_at"),
            secret=data.get("secret"),
            type=_str(data, "type", "work"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class HeartbeatResult:
    """The answer to a work heartbeat: the new lease and the item's state."""

    last_heartbeat: str
    lease_extended: bool
    state: str
    ttl_seconds: int
    type: str = "work_heartbeat"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeartbeatResult:
        return cls(
            last_heartbeat=_required_str(data, "last_heartbeat"),
            lease_extended=_bool(data, "lease_extended"),
            state=_required_str(data, "state"),
            ttl_seconds=_int(data, "ttl_seconds"),
            type=_str(data, "type", "work_heartbeat"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class QueueStats:
    """Counters of an environment's work queue."""

    depth: int
    pending: int
    oldest_queued_at: str | None
    workers_polling: int
    type: str = "work_queue_stats"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueStats:
        return cls(
            depth=_int(data, "depth"),
            pending=_int(data, "pending"),
            oldest_queued_at=_opt_str(data, "oldest_queued_at"),
            workers_polling=_int(data, "workers_polling"),
            type=_str(data, "type", "work_queue_stats"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Deleted:
    """Confirmation of a delete: ``type`` is e.g. ``environment_deleted``."""

    id: str
    type: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deleted:
        return cls(id=_required_str(data, "id"), type=_str(data, "type"), raw=dict(data))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_page`` is the cursor of the next one (``None`` on the last)."""

    data: tuple[T, ...]
    first_id: str | None
    last_id: str | None
    has_more: bool
    next_page: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        items = data.get("data")
        if not isinstance(items, list):
            raise ResponseShapeError("'data' must be a list")
        return cls(
            data=tuple(item(expect_object(entry, "list entry")) for entry in items),
            first_id=_opt_str(data, "first_id"),
            last_id=_opt_str(data, "last_id"),
            has_more=_bool(data, "has_more"),
            next_page=_opt_str(data, "next_page"),
            raw=dict(data),
        )
