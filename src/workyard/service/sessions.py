"""Sessions: each one's work item is created with it; status is derived from that item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from workyard.domain import work as wm
from workyard.domain.events import EventDraft
from workyard.domain.metadata import apply_patch
from workyard.domain.models import Event, Session, WorkItem, WorkState
from workyard.domain.pagination import Page, PageRequest, make_page
from workyard.errors import InvalidRequestError, NotFoundError, OverloadedError
from workyard.ids import id_after, new_id
from workyard.service.auth import Principal
from workyard.service.queue import WorkQueue
from workyard.store import Insert, PurgeEvents, Replace, SessionFilter, Write

__all__ = ["UNSET", "SessionChanges", "SessionService"]

_CAS_ATTEMPTS = 20
UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class SessionChanges:
    title: Any = UNSET  # str | None (None clears) | UNSET
    metadata: Any = None  # raw merge patch or None


class SessionService:
    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._store = queue.store
        self._clock = queue.clock

    async def create(
        self,
        principal: Principal,
        environment_id: str,
        agent: Any,
        title: str | None,
        metadata: dict[str, str],
        initial_events: Sequence[EventDraft] = (),
    ) -> Session:
        env = await self._store.get_environment(environment_id)
        if env is None:
            raise NotFoundError(f"Environment {environment_id} not found.", param="environment_id")
        if not env.self_hosted:
            raise InvalidRequestError(
                "Sessions can only be created in self_hosted environments.", param="environment_id"
            )
        if env.archived_at is not None:
            raise InvalidRequestError(
                "The environment is archived and accepts no new sessions.", param="environment_id"
            )
        principal.require_member()
        now = self._clock.now()
        session_id, work_id = new_id("sess"), new_id("work")
        work = WorkItem(
            work_id, environment_id, session_id, WorkState.QUEUED, now, metadata=metadata
        )
        events: list[Event] = []
        last: str | None = None
        for draft in initial_events:
            last = id_after("evt", last)
            events.append(Event(last, session_id, draft.type, now, draft.fields))
        session = Session(
            session_id, environment_id, agent, title, metadata, work_id, None, now, now,
            last_event_id=last,
        )  # fmt: skip
        writes: list[Write] = [Insert(session), Insert(work), *(Insert(e) for e in events)]
        await self._queue.commit(writes, [(None, work)])
        return replace(session, work_state=WorkState.QUEUED)

    async def _load(self, principal: Principal, session_id: str) -> Session:
        await self._queue.expire_due()
        session = await self._store.get_session(session_id)
        if session is None:
            raise NotFoundError(f"Session {session_id} not found.")
        principal.require_session(session.id, session.environment_id)
        return session

    async def get(self, principal: Principal, session_id: str) -> Session:
        return await self._load(principal, session_id)

    async def list(
        self, principal: Principal, flt: SessionFilter, page: PageRequest, descending: bool
    ) -> Page[Session]:
        principal.require_token()
        if flt.environment_id is not None:
            principal.require_environment(flt.environment_id)
        elif principal.restricted:
            flt = replace(flt, environment_ids=principal.environment_ids)
        await self._queue.expire_due()
        rows = await self._store.list_sessions(flt, page, descending)
        return make_page(rows, page, lambda s: s.id)

    async def update(
        self, principal: Principal, session_id: str, changes: SessionChanges
    ) -> Session:
        for _ in range(_CAS_ATTEMPTS):
            session = await self._load(principal, session_id)
            principal.require_member()
            metadata = session.metadata
            if changes.metadata is not None:
                metadata = apply_patch(metadata, changes.metadata)
            title = session.title if changes.title is UNSET else changes.title
            new = self._bump(session, title=title, metadata=metadata)
            if await self._store.commit([Replace(new, session.version)]):
                return new
        raise OverloadedError("The session is changing too fast; retry.")

    def _bump(self, session: Session, **changes: Any) -> Session:
        now = max(self._clock.now(), session.updated_at)
        return replace(session, updated_at=now, version=session.version + 1, **changes)

    async def archive(self, principal: Principal, session_id: str) -> Session:
        return await self._end(principal, session_id, force=False)

    async def delete(self, principal: Principal, session_id: str) -> None:
        await self._end(principal, session_id, force=True)

    async def _end(self, principal: Principal, session_id: str, force: bool) -> Session:
        """Archive (graceful stop) or delete (forced stop) a session and its live work at once."""
        for _ in range(_CAS_ATTEMPTS):
            session = await self._load(principal, session_id)
            principal.require_member()
            if not force and session.archived_at is not None:
                return session
            now = self._clock.now()
            writes: list[Write] = []
            changes: list[tuple[WorkItem, WorkItem]] = []
            stopped_state = session.work_state
            if session.work_id is not None:
                item = await self._store.get_work(session.work_id)
                current = None if item is None else wm.expire(item, now)
                # Archive asks live work to stop; a stop already requested is left to the worker.
                if item is not None and current is not None and _should_stop(current, force):
                    stopped = wm.stop(current, force, now)
                    stopped = replace(stopped, version=item.version + 1)
                    writes.append(Replace(stopped, item.version))
                    changes.append((item, stopped))
                    stopped_state = stopped.state
            field = "deleted_at" if force else "archived_at"
            new = self._bump(session, **{field: now})
            if force:
                writes.append(PurgeEvents(session.id))
            if await self._queue.commit([Replace(new, session.version), *writes], changes):
                if force:
                    self._queue.keeper.events([session.id])  # end the session's open streams
                return replace(new, work_state=stopped_state)
        raise OverloadedError("The session is changing too fast; retry.")


def _should_stop(item: WorkItem, force: bool) -> bool:
    if force:
        return wm.is_live(item)
    return item.state in (WorkState.QUEUED, WorkState.STARTING, WorkState.ACTIVE)
