"""Records → wire JSON objects (spec field order, timestamps formatted, all fields present)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from workyard.clock import Instant, format_ts
from workyard.domain.models import Environment, Event, Session, WorkItem, WorkState
from workyard.domain.pagination import Page
from workyard.service.queue import QueueStats

__all__ = ["environment", "event", "page", "session", "session_status", "stats", "ts", "work"]

T = TypeVar("T")
_STATUS = {
    WorkState.QUEUED: "rescheduling",
    WorkState.STARTING: "running",
    WorkState.ACTIVE: "running",
    WorkState.STOPPING: "running",
    WorkState.STOPPED: "idle",
}


def ts(instant: Instant | None) -> str | None:
    return None if instant is None else format_ts(instant)


def environment(env: Environment) -> dict[str, Any]:
    return {
        "id": env.id,
        "type": "environment",
        "name": env.name,
        "description": env.description,
        "config": env.config,
        "metadata": env.metadata,
        "archived_at": ts(env.archived_at),
        "created_at": ts(env.created_at),
        "updated_at": ts(env.updated_at),
    }


def work(item: WorkItem, secret: str | None = None) -> dict[str, Any]:
    """A work item; ``secret`` only in the ack response that minted it (never the stored hash)."""
    return {
        "id": item.id,
        "type": "work",
        "environment_id": item.environment_id,
        "data": {"type": "session", "id": item.session_id},
        "state": item.state.value,
        "created_at": ts(item.created_at),
        "acknowledged_at": ts(item.acknowledged_at),
        "started_at": ts(item.started_at),
        "latest_heartbeat_at": ts(item.latest_heartbeat_at),
        "stop_requested_at": ts(item.stop_requested_at),
        "stopped_at": ts(item.stopped_at),
        "metadata": item.metadata,
        "secret": secret,
    }


def session_status(state: WorkState | None) -> str:
    return "idle" if state is None else _STATUS[state]


def session(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "type": "session",
        "environment_id": s.environment_id,
        "agent": s.agent,
        "title": s.title,
        "status": session_status(s.work_state),
        "metadata": s.metadata,
        "work_id": s.work_id,
        "archived_at": ts(s.archived_at),
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
    }


def event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "type": e.type,
        "session_id": e.session_id,
        "processed_at": ts(e.processed_at),
        **e.fields,
    }


def stats(q: QueueStats) -> dict[str, Any]:
    return {
        "type": "work_queue_stats",
        "depth": q.depth,
        "pending": q.pending,
        "oldest_queued_at": ts(q.oldest_queued_at),
        "workers_polling": q.workers_polling,
    }


def page(
    p: Page[T], render: Callable[[T], dict[str, Any]], key: Callable[[T], str]
) -> dict[str, Any]:
    return {
        "data": [render(row) for row in p.data],
        "first_id": key(p.data[0]) if p.data else None,
        "last_id": key(p.data[-1]) if p.data else None,
        "has_more": p.has_more,
        "next_page": p.next_page,
    }
