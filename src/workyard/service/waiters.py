"""Blocked polls as plain futures: FIFO waiters per key, one deadline heap, one timer handle.

A waiting poll costs one future and one heap entry: no task, no timer, no ``wait_for``. Every
deadline (a poll giving up, or a key's "something becomes deliverable then" instant) sits in one
heap; a single ``loop.call_at`` handle is armed for the earliest and re-armed when it fires or when
an earlier deadline arrives. Entries made stale by a wake-up are skipped when they come due.

``notify(key)`` wakes *one* waiter of the key (the longest-waiting one the ``eligible`` callback
accepts): one wake-up per newly deliverable item, never the whole herd. ``notify_all()`` wakes
everyone (drain, clock jumps, change-feed resets). A generation counter per key closes the gap
between a failed check and the wait: ``token(key)`` before checking, ``wait(key, token, …)`` returns
at once (``None``) when a notification came in between.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter, deque
from collections.abc import Callable
from enum import Enum
from typing import Any

__all__ = ["Waiter", "Waiters", "Wake"]

_COMPACT_MIN = 32  # rebuild a key's queue once this many (and half of it) are dead entries
_SLACK = 0.0005  # deadlines this close to the earliest fire together with it


class Wake(Enum):
    NOTIFY = "notify"  # a newly deliverable item: this waiter should claim it
    READY = "ready"  # the key's readiness instant came (redelivery window, lease expiry)
    ALL = "all"  # notify_all: drain, clock jump, feed reset
    TIMEOUT = "timeout"  # the waiter's own deadline
    ABANDON = "abandon"  # the abandon future completed (client gone, credential dead)


class Waiter:
    __slots__ = ("future", "key", "queued", "tag")

    def __init__(self, key: str, tag: int, future: asyncio.Future[Wake]) -> None:
        self.key = key
        self.tag = tag
        self.future = future
        self.queued = True

    def abandon(self, _: object = None) -> None:
        if not self.future.done():
            self.future.set_result(Wake.ABANDON)


Token = tuple[int, int]


class Waiters:
    """Per-key FIFO queues of waiting futures with one shared deadline timer."""

    def __init__(
        self,
        eligible: Callable[[str, int], bool] = lambda key, tag: True,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self._eligible = eligible
        self._on_ready = on_ready if on_ready is not None else self._wake_ready
        self._queues: dict[str, deque[Waiter]] = {}
        self._dead: Counter[str] = Counter()
        self._tags: dict[str, Counter[int]] = {}
        self._heap: list[tuple[float, int, Waiter | str]] = []
        self._ready_at: dict[str, float] = {}
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._generations: Counter[str] = Counter()
        self._epoch = 0
        self.woken = 0  # waiters handed a NOTIFY or READY wake-up (observability, tests)
        self.timed_out = 0

    # waiting -----------------------------------------------------------------------------------
    def token(self, key: str) -> Token:
        return self._epoch, self._generations[key]

    def wait(
        self,
        key: str,
        token: Token,
        deadline: float,
        tag: int = 0,
        abandon: asyncio.Future[Any] | None = None,
    ) -> Waiter | None:
        """Queue a waiter until ``deadline`` (loop time); ``None`` if ``key`` was notified since
        ``token`` was taken (check again instead of waiting). Await ``waiter.future``, then call
        ``done(waiter)``."""
        if token != self.token(key):
            return None
        loop = asyncio.get_running_loop()
        waiter = Waiter(key, tag, loop.create_future())
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._tags[key] = Counter()
        queue.append(waiter)
        self._tags[key][tag] += 1
        self._push(loop, deadline, waiter)
        if abandon is not None:
            if abandon.done():
                waiter.abandon()
            else:
                abandon.add_done_callback(waiter.abandon)
        return waiter

    def done(self, waiter: Waiter, abandon: asyncio.Future[Any] | None = None) -> None:
        """The waiter's future completed (or its task was cancelled): take it out of its queue."""
        if abandon is not None:
            abandon.remove_done_callback(waiter.abandon)
        if waiter.queued:
            self._unqueue(waiter)
            self._dead[waiter.key] += 1
            self._compact(waiter.key)

    def tags(self, key: str) -> list[int]:
        """The distinct tags (reclaim windows) of the key's queued waiters."""
        tags = self._tags.get(key)
        return [t for t, n in tags.items() if n > 0] if tags else []

    def waiting(self, key: str | None = None) -> int:
        if key is not None:
            return sum(self._tags.get(key, Counter()).values())
        return sum(sum(t.values()) for t in self._tags.values())

    # waking ------------------------------------------------------------------------------------
    def notify(self, key: str, max_tag: int | None = None) -> None:
        """Something became deliverable in ``key``: wake the longest-waiting eligible waiter.

        ``max_tag`` limits the wake-up to waiters whose tag is at most that (a fresh delivery is
        deliverable at once only to polls with ``reclaim_older_than_ms`` 0).
        """
        self._generations[key] += 1
        self.wake_one(key, Wake.NOTIFY, max_tag)

    def wake_one(self, key: str, reason: Wake, max_tag: int | None = None) -> bool:
        queue = self._queues.get(key)
        if not queue:
            return False
        for waiter in queue:
            if not waiter.queued or waiter.future.done():
                continue
            if max_tag is not None and waiter.tag > max_tag:
                continue
            if not self._eligible(key, waiter.tag):
                continue
            self._unqueue(waiter)
            if waiter is queue[0]:
                queue.popleft()
            else:
                self._dead[key] += 1
                self._compact(key)
            self.woken += 1
            waiter.future.set_result(reason)
            return True
        return False

    def notify_all(self) -> None:
        self._epoch += 1
        queues, self._queues = self._queues, {}
        self._tags.clear()
        self._dead.clear()
        for queue in queues.values():
            for waiter in queue:
                waiter.queued = False
                if not waiter.future.done():
                    waiter.future.set_result(Wake.ALL)

    def ready_at(self, key: str, when: float) -> None:
        """Call ``on_ready(key)`` at loop time ``when`` (the earliest requested instant wins)."""
        current = self._ready_at.get(key)
        if current is not None and current <= when:
            return
        self._ready_at[key] = when
        self._push(asyncio.get_running_loop(), when, key)

    def _wake_ready(self, key: str) -> None:
        self.wake_one(key, Wake.READY)

    # internals ---------------------------------------------------------------------------------
    def _unqueue(self, waiter: Waiter) -> None:
        waiter.queued = False
        tags = self._tags.get(waiter.key)
        if tags is not None:
            tags[waiter.tag] -= 1
            if tags[waiter.tag] <= 0:
                del tags[waiter.tag]

    def _compact(self, key: str) -> None:
        queue = self._queues.get(key)
        if queue is None:
            return
        while queue and not queue[0].queued:
            queue.popleft()
            self._dead[key] -= 1
        if not queue:
            del self._queues[key]
            self._tags.pop(key, None)
            self._dead.pop(key, None)
            return
        dead = self._dead[key]
        if dead >= _COMPACT_MIN and dead * 2 >= len(queue):
            self._queues[key] = deque(w for w in queue if w.queued)
            self._dead[key] = 0

    def _push(self, loop: asyncio.AbstractEventLoop, when: float, entry: Waiter | str) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), entry))
        if when < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = when
            self._timer = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        loop = asyncio.get_running_loop()
        horizon = loop.time() + _SLACK
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            when, _, entry = heapq.heappop(heap)
            if isinstance(entry, str):
                if self._ready_at.get(entry) == when:
                    del self._ready_at[entry]
                    self._on_ready(entry)
            elif entry.queued and not entry.future.done():
                self.timed_out += 1
                entry.future.set_result(Wake.TIMEOUT)
        if heap and heap[0][0] < self._timer_at:  # ``on_ready`` may have armed one already
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = heap[0][0]
            self._timer = loop.call_at(self._timer_at, self._fire)
