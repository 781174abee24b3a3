"""Wake-ups for blocked polls: one event per environment, swapped on every notification."""

from __future__ import annotations

import asyncio

__all__ = ["Notifier"]


class Notifier:
    """``event(env)`` before checking; ``notify(env)`` after a write that may make work deliverable.

    Taking the event *before* the check means a notification that lands between the check and the
    wait is never lost.
    """

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def event(self, environment_id: str) -> asyncio.Event:
        ev = self._events.get(environment_id)
        if ev is None:
            ev = self._events[environment_id] = asyncio.Event()
        return ev

    def notify(self, environment_id: str) -> None:
        ev = self._events.pop(environment_id, None)
        if ev is not None:
            ev.set()

    def notify_all(self) -> None:
        events, self._events = self._events, {}
        for ev in events.values():
            ev.set()

    @staticmethod
    async def wait(event: asyncio.Event, seconds: float | None) -> None:
        """Wait for ``event`` for at most ``seconds`` (``None``: until it is set)."""
        if seconds is not None and seconds <= 0:
            return
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return
