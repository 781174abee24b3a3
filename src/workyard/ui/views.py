"""What each dashboard page shows, read through the same services (and rules) as the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workyard.api import wire
from workyard.clock import Instant, format_ts
from workyard.domain.models import Environment, Event, Session, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.service.queue import QueueStats
from workyard.store.base import EnvironmentFilter, EventFilter, SessionFilter

__all__ = [
    "STATE_FILTERS",
    "EnvironmentPage",
    "QueueRow",
    "SessionPage",
    "environment_page",
    "event_text",
    "overview",
    "session_page",
]

_RUNNING = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)
_LIST_LIMIT = 100
_EVENT_LIMIT = 500
STATE_FILTERS: dict[str, tuple[WorkState, ...] | None] = {
    "all": None,
    "queued": (WorkState.QUEUED,),
    "running": _RUNNING,
    "stopped": (WorkState.STOPPED,),
}


@dataclass(frozen=True)
class QueueRow:
    environment: Environment
    stats: QueueStats | None  # None for cloud environments (no queue)
    running: int | None

    @property
    def self_hosted(self) -> bool:
        return self.stats is not None


@dataclass(frozen=True)
class EnvironmentPage:
    environment: Environment
    stats: QueueStats
    running: int
    sessions: list[Session]
    work: list[WorkItem]
    state: str


@dataclass(frozen=True)
class SessionPage:
    session: Session
    status: str
    work: WorkItem | None
    events: list[Event]
    truncated: bool


async def _running(svc: Services, principal: Principal, env_id: str) -> int:
    page = await svc.queue.list(principal, env_id, _RUNNING, PageRequest(_LIST_LIMIT))
    return len(page.data)


async def overview(svc: Services, principal: Principal) -> list[QueueRow]:
    """Every non-archived environment, with its queue's numbers when it is self-hosted."""
    envs = await svc.environments.list(principal, EnvironmentFilter(), PageRequest(_LIST_LIMIT))
    rows = []
    for env in envs.data:
        if env.config.get("type") != "self_hosted":
            rows.append(QueueRow(env, None, None))
            continue
        stats = await svc.queue.stats(principal, env.id)
        rows.append(QueueRow(env, stats, await _running(svc, principal, env.id)))
    return rows


async def environment_page(
    svc: Services, principal: Principal, env_id: str, state: str
) -> EnvironmentPage:
    env = await svc.environments.get(principal, env_id)
    if env.config.get("type") != "self_hosted":
        return EnvironmentPage(env, QueueStats(0, 0, None, 0), 0, [], [], state)
    sessions = await svc.sessions.list(
        principal, SessionFilter(environment_id=env_id), PageRequest(_LIST_LIMIT), True
    )
    states = STATE_FILTERS.get(state)
    work = await svc.queue.list(principal, env_id, states, PageRequest(_LIST_LIMIT))
    stats = await svc.queue.stats(principal, env_id)
    running = await _running(svc, principal, env_id)
    return EnvironmentPage(env, stats, running, sessions.data, work.data, state)


async def session_page(svc: Services, principal: Principal, session_id: str) -> SessionPage:
    session = await svc.sessions.get(principal, session_id)
    work = None
    if session.work_id is not None:
        work = await svc.queue.get(principal, session.environment_id, session.work_id)
    latest = await svc.events.list_events(
        principal, session_id, EventFilter(), PageRequest(_EVENT_LIMIT), True
    )
    status = wire.session_status(session.work_state)
    return SessionPage(session, status, work, latest.data[::-1], latest.has_more)


def event_text(event: Event) -> str:
    """What a person reads of an event: its text blocks, its error, or its fields as JSON."""
    fields: dict[str, Any] = event.fields
    content = fields.get("content")
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict)]
        if any(texts):
            return "\n".join(t for t in texts if isinstance(t, str))
    if isinstance(content, str):
        return content
    error = fields.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if event.type == "agent.tool_use":
        return f"{fields.get('name', '')} {json.dumps(fields.get('input'), ensure_ascii=False)}"
    return json.dumps(fields, ensure_ascii=False) if fields else ""


def timestamp(instant: Instant | None) -> str:
    """``2026-11-30 09:12:06`` (UTC) for tables; ``""`` for none."""
    return "" if instant is None else format_ts(instant)[:19].replace("T", " ")
