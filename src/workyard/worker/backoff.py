"""Retry delays and the lease timer: pure arithmetic on seconds, no I/O and no sleeping.

Both are driven by the caller's clock (``time.monotonic()`` in the worker, plain numbers in the
tests), so every timing rule of the worker can be checked without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "LeaseTimer"]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": the delay never exceeds ``cap``.

    Attempt ``n`` (0-based) waits between half and all of ``min(cap, initial * factor**n)``, so
    workers that failed together do not retry together.
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay attempt ``attempt`` may wait."""
        exponent = min(max(attempt, 0), 64)  # 2.0**64 is already far past any cap
        return min(self.cap, self.initial * self.factor**exponent)

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``attempt``; ``rng`` returns a number in ``[0, 1)``."""
        top = self.ceiling(attempt)
        return top / 2 + top / 2 * rng()


@dataclass
class LeaseTimer:
    """When to send the next heartbeat and when the lease must be presumed lost.

    ``last_ok`` is when the last successful heartbeat (or the ack) was *sent*: the server extended
    the lease no earlier than that, so ``last_ok + ttl`` is a safe local deadline. Healthy leases
    beat every ``ttl / 3``; after a failure the timer retries sooner (1 s, 2 s, 4 s… at most
    ``ttl / 6``), never past the deadline.
    """

    ttl: float
    last_ok: float
    next_at: float
    failures: int = 0

    @classmethod
    def start(cls, now: float, ttl: float) -> LeaseTimer:
        """A timer for a lease acquired at ``now``, whose first heartbeat is due at once."""
        return cls(ttl=ttl, last_ok=now, next_at=now)

    @property
    def interval(self) -> float:
        return self.ttl / 3

    @property
    def deadline(self) -> float:
        """After this instant, without a successful heartbeat, the lease may belong to another."""
        return self.last_ok + self.ttl

    def expired(self, now: float) -> bool:
        return now >= self.deadline

    def succeeded(self, sent_at: float, ttl: float | None = None) -> None:
        """A heartbeat sent at ``sent_at`` succeeded; ``ttl``: the lease the server granted."""
        if ttl is not None and ttl > 0:
            self.ttl = ttl
        self.last_ok = sent_at
        self.failures = 0
        self.next_at = sent_at + self.interval

    def failed(self, now: float) -> float:
        """A heartbeat failed at ``now`` (transiently); returns the delay until the retry."""
        self.failures += 1
        retry = min(2.0 ** (self.failures - 1), self.ttl / 6)
        self.next_at = min(now + retry, self.deadline)
        return self.next_at - now
