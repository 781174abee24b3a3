"""A background loop's wake-up: sleep until poked or until a delay passes, cancel-safe.

``asyncio.wait_for`` (Python 3.11) can swallow a cancellation that arrives in the same loop turn as
the wake-up it waits for: the task then keeps running and ``stop()`` awaiting it never returns.
:class:`Wakeup` waits on one plain future (set by :meth:`Wakeup.set` or by one timer handle), so a
cancellation always reaches the sleeping task: if the future is already done, the task's next step
raises ``CancelledError`` anyway.
"""

from __future__ import annotations

import asyncio

__all__ = ["Wakeup"]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Wakeup:
    """``set()`` from anywhere on the loop (a callback, another task); the loop ``sleep()``s."""

    __slots__ = ("_future", "_set")

    def __init__(self) -> None:
        self._set = False
        self._future: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        if self._future is not None:
            _resolve(self._future)

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    @property
    def sleeping(self) -> bool:
        """Whether the loop is in :meth:`sleep` and not woken yet (observability, tests)."""
        return self._future is not None and not self._future.done()

    async def sleep(self, seconds: float | None) -> None:
        """Return once set (at once if set already) or after ``seconds`` (``None``: no limit)."""
        if self._set or (seconds is not None and seconds <= 0):
            return
        loop = asyncio.get_running_loop()
        future = self._future = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _resolve, future)
        try:
            await future
        finally:
            self._future = None
            if timer is not None:
                timer.cancel()
