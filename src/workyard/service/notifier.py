"""Wake-ups for event streams: one event per session, swapped on every notification.

(Background loops sleep on :class:`workyard.service.wakeup.Wakeup` instead; blocked polls on
:class:`workyard.service.waiters.Waiters`.)
"""

from __future__ import annotations

import asyncio

__all__ = ["Notifier"]


class Notifier:
    """``event(key)`` before checking; ``notify(key)`` after a write that may concern the waiters.

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
