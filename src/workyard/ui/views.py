"""What each dashboard page shows, read through the same services (and rules) as the API.

Every list is one keyset page (``paging``); a loader given ``parts`` (a partial refresh) reads only
what those fragments show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from workyard.api import wire
from workyard.domain.models import Environment, Session, WorkItem, WorkState
from workyard.domain.pagination import Page, PageRequest, make_page
from workyard.errors import InvalidRequestError
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.service.queue import QueueStats
from workyard.store.base import EnvironmentFilter, EventFilter, SessionFilter, SessionSearch
from workyard.ui import charts, paging
from workyard.ui.text import EventCard, card

__all__ = [
    "PAGE_SIZE",
    "SCAN_LIMIT",
    "STATE_FILTERS",
    "STATUS_FILTERS",
    "EnvironmentPage",
    "EnvironmentQuery",
    "QueueRow",
    "SessionPage",
    "environment_page",
    "overview",
    "parse_environment_query",
    "session_page",
]

PAGE_SIZE = 50
_EVENT_BATCH = 10  # events read (whole) at a time for a session page
SCAN_LIMIT = 5000  # rows a search looks at per page before it offers to search on
_RUNNING = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)
_COUNT_LIMIT = 100  # running items counted on a page; beyond it the page says "100+"
_MAX_SEARCH = 256
STATE_FILTERS: dict[str, tuple[WorkState, ...] | None] = {
    "all": None,
    "queued": (WorkState.QUEUED,),
    "running": _RUNNING,
    "stopped": (WorkState.STOPPED,),
}
STATUS_FILTERS: dict[str, tuple[WorkState, ...] | None] = {
    "any": None,
    "rescheduling": (WorkState.QUEUED,),
    "running": _RUNNING,
    "idle": (WorkState.STOPPED,),
}
Parts = frozenset[str] | None
_NO_STATS = QueueStats(0, 0, None, 0)


def _wants(parts: Parts, *names: str) -> bool:
    return parts is None or any(name in parts for name in names)


@dataclass(frozen=True)
class QueueRow:
    environment: Environment
    stats: QueueStats | None  # None for cloud environments (no queue)
    running: str

    @property
    def self_hosted(self) -> bool:
        return self.stats is not None


@dataclass(frozen=True)
class Overview:
    rows: list[QueueRow]
    links: paging.Links


@dataclass(frozen=True)
class EnvironmentQuery:
    """The environment page's query string: filters, searches and both lists' cursors."""

    state: str = "all"
    holder: str = ""
    title: str = ""
    status: str = "any"
    metadata: tuple[tuple[str, str], ...] = ()
    sessions: str | None = None
    work: str | None = None

    @property
    def meta_text(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.metadata)

    def href(self, **changes: str | None) -> str:
        """This page's query string with ``changes`` (``None`` drops a value)."""
        values: dict[str, str | None] = {
            "state": self.state,
            "holder": self.holder or None,
            "title": self.title or None,
            "status": self.status if self.status != "any" else None,
            "meta": self.meta_text or None,
            "sessions": self.sessions,
            "work": self.work,
        }
        values.update(changes)
        return "?" + urlencode({k: v for k, v in values.items() if v})  # state always first


@dataclass(frozen=True)
class EnvironmentPage:
    environment: Environment
    query: EnvironmentQuery
    stats: QueueStats = _NO_STATS
    running: str = "0"
    sessions: list[Session] = field(default_factory=list)
    session_links: paging.Links = paging.NO_LINKS
    work: list[WorkItem] = field(default_factory=list)
    work_links: paging.Links = paging.NO_LINKS
    titles: Mapping[str, str | None] = field(default_factory=dict)
    charts: charts.Charts | None = None

    @property
    def state(self) -> str:
        return self.query.state


@dataclass(frozen=True)
class SessionPage:
    session: Session
    environment: Environment
    status: str
    work: WorkItem | None
    events: list[EventCard]
    older: str | None  # cursors of the neighbouring pages of events
    newer: str | None

    @property
    def latest(self) -> bool:
        """The newest page: the browser follows new events live."""
        return self.newer is None


def _text(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if len(value) > _MAX_SEARCH:
        raise InvalidRequestError(f"{name} is longer than {_MAX_SEARCH} characters", param=name)
    return value


def _metadata(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidRequestError("meta must be key=value pairs, space separated", param="meta")
        pairs.append((key, value))
    return tuple(pairs)


def parse_environment_query(params: Mapping[str, str]) -> EnvironmentQuery:
    state = params.get("state", "all")
    status = params.get("status", "any")
    return EnvironmentQuery(
        state=state if state in STATE_FILTERS else "all",
        holder=_text(params, "holder"),
        title=_text(params, "title"),
        status=status if status in STATUS_FILTERS else "any",
        metadata=_metadata(_text(params, "meta")),
        sessions=params.get("sessions") or None,
        work=params.get("work") or None,
    )


async def _running(svc: Services, principal: Principal, env_id: str) -> str:
    page = await svc.queue.list(principal, env_id, _RUNNING, PageRequest(_COUNT_LIMIT))
    return f"{len(page.data)}+" if page.has_more else str(len(page.data))


async def overview(svc: Services, principal: Principal, cursor: str | None) -> Overview:
    """One page of non-archived environments, with each queue's numbers when self-hosted."""
    asked = paging.request(cursor, "env", PAGE_SIZE)
    envs = await svc.environments.list(principal, EnvironmentFilter(), asked)
    rows = []
    for env in envs.data:
        if env.config.get("type") != "self_hosted":
            rows.append(QueueRow(env, None, ""))
            continue
        stats = await svc.queue.stats(principal, env.id)
        rows.append(QueueRow(env, stats, await _running(svc, principal, env.id)))
    return Overview(rows, paging.links(envs, asked, lambda e: e.id))


async def _checked(svc: Services, principal: Principal, env_id: str) -> None:
    """The checks of ``queue.list`` before a read straight from the store (a self-hosted
    environment the principal may see), and expiry applied."""
    await svc.queue.environment(env_id)
    principal.require_environment(env_id)
    await svc.queue.expire_due()


async def _sessions(
    svc: Services, principal: Principal, env_id: str, query: EnvironmentQuery
) -> tuple[list[Session], paging.Links]:
    asked = paging.request(query.sessions, "sess", PAGE_SIZE)
    flt = SessionFilter(environment_id=env_id, states=STATUS_FILTERS[query.status])
    search = SessionSearch(title=query.title or None, metadata=query.metadata)
    rows, scanned_to = await svc.store.search_sessions(flt, search, asked, SCAN_LIMIT)
    page = make_page(rows, asked, lambda s: s.id)
    return page.data, paging.links(page, asked, lambda s: s.id, scanned_to)


async def _work(
    svc: Services, principal: Principal, env_id: str, query: EnvironmentQuery
) -> tuple[list[WorkItem], paging.Links, Mapping[str, str | None]]:
    asked = paging.request(query.work, "work", PAGE_SIZE)
    states = STATE_FILTERS[query.state]
    scanned_to = None
    if query.holder:
        page, scanned_to = await held_work(svc, principal, env_id, query.holder, states, asked)
    else:
        page = await svc.queue.list(principal, env_id, states, asked)
    titles = await svc.store.session_titles(sorted({w.session_id for w in page.data}))
    return page.data, paging.links(page, asked, lambda w: w.id, scanned_to), titles


async def held_work(
    svc: Services,
    principal: Principal,
    env_id: str,
    worker_id: str,
    states: tuple[WorkState, ...] | None,
    asked: PageRequest,
) -> tuple[Page[WorkItem], str | None]:
    """A page of the items delivered to or held by ``worker_id`` (a bounded scan)."""
    await _checked(svc, principal, env_id)
    rows, scanned_to = await svc.store.list_work_held(env_id, worker_id, states, asked, SCAN_LIMIT)
    return make_page(rows, asked, lambda w: w.id), scanned_to


async def environment_page(
    svc: Services, principal: Principal, env_id: str, query: EnvironmentQuery, parts: Parts
) -> EnvironmentPage:
    env = await svc.environments.get(principal, env_id)
    if env.config.get("type") != "self_hosted":
        return EnvironmentPage(env, query)
    await _checked(svc, principal, env_id)  # before the reads straight from the store
    stats, running = _NO_STATS, "0"
    if _wants(parts, "stats"):
        stats = await svc.queue.stats(principal, env_id)
        running = await _running(svc, principal, env_id)
    sessions: list[Session] = []
    session_links = paging.NO_LINKS
    if _wants(parts, "sessions"):
        sessions, session_links = await _sessions(svc, principal, env_id, query)
    work: list[WorkItem] = []
    work_links = paging.NO_LINKS
    titles: Mapping[str, str | None] = {}
    if _wants(parts, "work"):
        work, work_links, titles = await _work(svc, principal, env_id, query)
    drawn = await charts.load(svc, env_id) if _wants(parts, "charts") else None
    return EnvironmentPage(
        env, query, stats, running, sessions, session_links, work, work_links, titles, drawn
    )


async def session_page(
    svc: Services, principal: Principal, session_id: str, cursor: str | None, parts: Parts
) -> SessionPage:
    session = await svc.sessions.get(principal, session_id)
    environment = await svc.environments.get(principal, session.environment_id)
    work = None
    if session.work_id is not None:
        work = await svc.queue.get(principal, session.environment_id, session.work_id)
    status = wire.session_status(session.work_state)
    if not _wants(parts, "events"):
        return SessionPage(session, environment, status, work, [], None, None)
    asked = paging.request(cursor, "evt", PAGE_SIZE)
    latest = await _cards(svc, principal, session_id, asked)
    found = paging.links(latest, asked, lambda e: e.id)  # newest first: "next" is older
    newer = found.previous if cursor else None
    # read newest first; shown oldest first
    return SessionPage(session, environment, status, work, latest.data[::-1], found.next, newer)


async def _cards(
    svc: Services, principal: Principal, session_id: str, asked: PageRequest
) -> Page[EventCard]:
    """A page of the session's events (newest first), read ``_EVENT_BATCH`` at a time and each
    cut down at once: a page of huge events never holds more than a batch of them whole."""
    want = asked.limit + 1
    got: list[EventCard] = []  # nearest the anchor first
    anchor, direction = asked.anchor, asked.direction
    while len(got) < want:
        step = PageRequest(min(_EVENT_BATCH, want - len(got)), anchor, direction)
        batch = await svc.events.list_events(principal, session_id, EventFilter(), step, True)
        rows = batch.data if direction == "after" else batch.data[::-1]
        got += [card(e) for e in rows]
        if not batch.has_more or not rows:
            break
        anchor = rows[-1].id
    return make_page(got if direction == "after" else got[::-1], asked, lambda c: c.id)
