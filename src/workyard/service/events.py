"""Session events: append (atomically, in id order per session), list, follow, cancel."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from workyard.domain.events import WORKER_TYPES, EventDraft
from workyard.domain.limits import MAX_EVENT_PAGE_BYTES
from workyard.domain.models import Event, Session, WorkItem, WorkState
from workyard.domain.pagination import Page, PageRequest, make_page
from workyard.errors import InvalidRequestError, OverloadedError, PermissionDeniedError
from workyard.ids import id_after, new_id
from workyard.service.auth import Principal
from workyard.service.notifier import Notifier
from workyard.service.queue import WorkQueue
from workyard.service.sessions import SessionService
from workyard.store import EventFilter, Insert, Replace, Write

__all__ = ["CancelResult", "EventService"]

_CAS_ATTEMPTS = 20
_RUNNING = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)


@dataclass(frozen=True, slots=True)
class CancelResult:
    accepted: bool  # the session was running and an interrupt was appended


class EventService:
    def __init__(self, queue: WorkQueue, sessions: SessionService) -> None:
        self._queue = queue
        self._sessions = sessions
        self._store = queue.store
        self._clock = queue.clock
        self.hub = Notifier()
        self.page_bytes = MAX_EVENT_PAGE_BYTES  # a listed page's stored event JSON, at most
        self._locks = KeyedLocks()
        queue.keeper.on_events = self._appended_elsewhere
        queue.keeper.on_reset = self.hub.notify_all

    def _appended_elsewhere(self, session_ids: Sequence[str]) -> None:
        for session_id in session_ids:
            self.hub.notify(session_id)

    async def send(
        self, principal: Principal, session_id: str, drafts: Sequence[EventDraft]
    ) -> list[Event]:
        """Append events; a user message to a session whose work has stopped requeues it."""
        async with self._locks.hold(session_id):  # senders here take turns; servers race by CAS
            for attempt in range(_CAS_ATTEMPTS):
                session = await self._sessions.get(principal, session_id)
                _authorize(principal, drafts)
                appended = await self._try_append(session, drafts)
                if appended is not None:
                    return appended
                await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise OverloadedError("The session is changing too fast; retry.")

    async def _try_append(
        self, session: Session, drafts: Sequence[EventDraft]
    ) -> list[Event] | None:
        now = self._clock.now()
        events: list[Event] = []
        last = session.last_event_id
        for draft in drafts:
            last = id_after("evt", last)
            events.append(Event(last, session.id, draft.type, now, draft.fields))
        new = replace(session, last_event_id=last, version=session.version + 1)
        writes: list[Write] = [Replace(new, session.version), *(Insert(e) for e in events)]
        changes: list[tuple[WorkItem | None, WorkItem | None]] = []
        if any(d.type == "user.message" for d in drafts) and session.work_state in (
            None,
            WorkState.STOPPED,
        ):
            if session.archived_at is not None:
                raise InvalidRequestError(
                    "The session is archived; it accepts no new messages.", param="session_id"
                )
            env = await self._store.get_environment(session.environment_id)
            if env is not None and env.archived_at is not None:
                raise InvalidRequestError(
                    "The environment is archived; it accepts no new work.", param="session_id"
                )
            work = WorkItem(
                new_id("work"), session.environment_id, session.id, WorkState.QUEUED, now,
                metadata=dict(session.metadata),
            )  # fmt: skip
            writes[0] = Replace(replace(new, work_id=work.id), session.version)
            writes.append(Insert(work))
            changes.append((None, work))
        if not await self._queue.commit(writes, changes):
            return None
        self.hub.notify(session.id)
        return events

    async def list_events(
        self,
        principal: Principal,
        session_id: str,
        flt: EventFilter,
        page: PageRequest,
        descending: bool,
    ) -> Page[Event]:
        await self._sessions.get(principal, session_id)
        rows, cut = await self._store.list_event_page(
            session_id, flt, page, descending, self.page_bytes
        )
        return make_page(rows, page, lambda e: e.id, cut)

    async def after(self, session_id: str, after_id: str | None, limit: int) -> list[Event] | None:
        """Events after ``after_id`` in order, or ``None`` once the session is gone (streams)."""
        if await self._store.get_session(session_id) is None:
            return None
        page = PageRequest(limit, after_id, "after")
        rows = await self._store.list_events(session_id, EventFilter(), page, False)
        return rows[:limit]  # the store reads one extra row to tell whether there is more

    async def cancel(self, principal: Principal, session_id: str) -> CancelResult:
        for _ in range(_CAS_ATTEMPTS):
            session = await self._sessions.get(principal, session_id)
            principal.require_member()
            if session.work_state not in _RUNNING:
                return CancelResult(accepted=False)
            if await self._try_append(session, [EventDraft("user.interrupt", {})]) is not None:
                return CancelResult(accepted=True)
        raise OverloadedError("The session is changing too fast; retry.")


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _authorize(principal: Principal, drafts: Sequence[EventDraft]) -> None:
    """Worker tokens send worker event types only; users send anything."""
    if principal.kind.value != "worker":
        return
    for draft in drafts:
        if draft.type not in WORKER_TYPES:
            raise PermissionDeniedError(f"Worker tokens may not send {draft.type} events.")
