"""Retry delays and the lease timer: pure arithmetic on seconds, no I/O and no sleeping.

Both are driven by the caller's clock (``time.monotonic()`` in the worker, plain numbers in the
tests), so every timing rule of the worker can be checked without waiting. :class:`Backoff` is
the project's one backoff formula (:mod:`workyard.backoff`), re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from workyard.backoff import Backoff

__all__ = ["Backoff", "LeaseTimer"]


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
        retry = Backoff(initial=1.0, cap=self.ttl / 6, jitter=0.0).ceiling(self.failures - 1)
        self.next_at = min(now + retry, self.deadline)
        return self.next_at - now
