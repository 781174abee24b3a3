"""The dashboard's work item page (its lifecycle) and workers view (who polled, what each holds)."""

from __future__ import annotations

from dataclasses import dataclass

from workyard.clock import Instant
from workyard.domain.models import Environment, Session, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.errors import NotFoundError
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.ui.text import duration

__all__ = ["HELD_LIMIT", "Step", "WorkPage", "Worker", "WorkersPage", "work_page", "workers_page"]

HELD_LIMIT = 200  # items read for the workers view (the rest: see the work list, by holder)
_HELD = (WorkState.QUEUED, WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)


@dataclass(frozen=True)
class Step:
    name: str
    at: Instant | None
    note: str = ""


@dataclass(frozen=True)
class WorkPage:
    environment: Environment
    item: WorkItem
    session: Session | None  # None once the session is deleted
    steps: list[Step]
    queued_for: str  # created → acknowledged (or now, while queued)
    running_for: str  # started → stopped (or now)


@dataclass(frozen=True)
class Worker:
    id: str
    polled_at: Instant | None  # None: holds items but has not polled lately
    holds: list[WorkItem]


@dataclass(frozen=True)
class WorkersPage:
    environment: Environment
    workers: list[Worker]
    capped: bool  # HELD_LIMIT items were read: some holdings may be missing


def lifecycle(item: WorkItem) -> list[Step]:
    """What the item records of its life, in order; steps it has not reached have no time."""
    holder = item.holder or item.delivered_to or ""
    delivered_to = f"to {item.delivered_to}" if item.delivered_to else ""
    return [
        Step("created", item.created_at),
        Step("delivered", item.delivered_at, delivered_to),
        Step("acknowledged", item.acknowledged_at, f"by {holder}" if holder else ""),
        Step("started", item.started_at),
        Step("latest heartbeat", item.latest_heartbeat_at),
        Step("lease expires", item.lease_expires_at),
        Step("stop requested", item.stop_requested_at),
        Step("stopped", item.stopped_at),
    ]


async def work_page(svc: Services, principal: Principal, env_id: str, work_id: str) -> WorkPage:
    environment = await svc.environments.get(principal, env_id)
    item = await svc.queue.get(principal, env_id, work_id)
    try:
        session: Session | None = await svc.sessions.get(principal, item.session_id)
    except NotFoundError:
        session = None
    now = svc.clock.now()
    queued_end = item.acknowledged_at or (now if item.state is WorkState.QUEUED else None)
    running_end = item.stopped_at or now
    return WorkPage(
        environment,
        item,
        session,
        lifecycle(item),
        duration(item.created_at, queued_end),
        duration(item.started_at, running_end),
    )


def holder_of(item: WorkItem) -> str | None:
    return item.delivered_to if item.state is WorkState.QUEUED else item.holder


async def workers_page(svc: Services, principal: Principal, env_id: str) -> WorkersPage:
    environment = await svc.environments.get(principal, env_id)
    polled = await svc.queue.pollers(principal, env_id)
    held = await svc.queue.list(principal, env_id, _HELD, PageRequest(HELD_LIMIT))
    holds: dict[str, list[WorkItem]] = {}
    for item in held.data:
        worker = holder_of(item)
        if worker is not None:
            holds.setdefault(worker, []).append(item)
    names = sorted(set(polled) | set(holds))
    workers = [Worker(w, polled.get(w), holds.get(w, [])) for w in names]
    return WorkersPage(environment, workers, held.has_more)
