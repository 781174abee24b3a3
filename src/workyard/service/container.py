"""Wire the services together from settings, a store and a clock."""

from __future__ import annotations

from dataclasses import dataclass

from workyard.clock import Clock, ManualClock, SystemClock
from workyard.config import Settings
from workyard.service.auth import TokenService
from workyard.service.environments import EnvironmentService
from workyard.service.events import EventService
from workyard.service.queue import WorkQueue
from workyard.service.retention import Retention
from workyard.service.sessions import SessionService
from workyard.store import Store, open_store

__all__ = ["Services", "build_services"]


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    clock: Clock
    tokens: TokenService
    queue: WorkQueue
    environments: EnvironmentService
    sessions: SessionService
    events: EventService
    retention: Retention

    @property
    def manual_clock(self) -> ManualClock | None:
        return self.clock if isinstance(self.clock, ManualClock) else None

    async def start(self) -> None:
        await self.store.open()
        await self.queue.start()
        self.retention.start()

    async def stop(self) -> None:
        await self.tokens.close()
        await self.retention.stop()
        await self.queue.stop()
        await self.store.close()


def build_services(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    wall: Clock | None = None,
) -> Services:
    """``clock``: the server's clock (manual under ``--manual-clock``); ``wall``: real time, for
    token expiry (tests pass a manual one)."""
    if clock is None:
        clock = ManualClock() if settings.manual_clock else SystemClock()
    if store is None:
        store = open_store(
            settings.resolved_database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.pg_pool_size,
        )
    queue = WorkQueue(store, clock, settings.default_ttl_seconds)
    sessions = SessionService(queue)
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        tokens=TokenService(
            store, clock, settings.token_cache_seconds, wall=wall, keeper=queue.keeper
        ),
        queue=queue,
        environments=EnvironmentService(queue),
        sessions=sessions,
        events=EventService(queue, sessions),
        retention=Retention(store, clock, settings.retention_days),
    )
