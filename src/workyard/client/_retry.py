"""When the SDK retries a request and how long it waits first: ``qca-sdk``'s rules, no I/O.

Retried, at most ``max_retries`` times: a connection error or timeout, and the answers 408, 429
and 5xx — of a request that is safe to send again: ``GET``/``HEAD``, and a ``POST`` with an
``Idempotency-Key`` (the clients add one to every POST; the server runs a keyed POST once). A
429 is retried for any request (the server did not run it); a 409 is not retried, except the
server's "a request with this Idempotency-Key is still in progress". ``X-Should-Retry:
true|false`` from the server overrides the rule. The wait is the server's ``Retry-After-Ms`` /
``Retry-After`` when it sends one, else :class:`workyard.backoff.Backoff` (0.5 s doubling up to
8 s, less up to 25 % jitter).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workyard.backoff import Backoff, retry_after

__all__ = ["RetryPolicy"]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _in_progress(content: bytes) -> bool:
    """A 409 from the idempotency layer: the keyed request is still running elsewhere."""
    try:
        body = json.loads(content)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("param") == "Idempotency-Key"


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` and the backoff between them (see the module docstring)."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25

    @property
    def backoff(self) -> Backoff:
        return Backoff(initial=self.initial_delay, cap=self.max_delay, jitter=self.jitter)

    def safe(self, method: str, idempotency_key: str | None) -> bool:
        """Whether a request may be sent again after an unknown outcome."""
        return method in ("GET", "HEAD") or bool(idempotency_key)

    def should_retry(
        self,
        method: str,
        idempotency_key: str | None,
        status: int | None,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
    ) -> bool:
        """Whether this outcome (``status`` ``None``: no answer) is worth another attempt."""
        safe = self.safe(method, idempotency_key)
        if status is None:
            return safe
        if status == 409:
            return safe and _in_progress(content)
        if not safe and status != 429:
            return False
        directive = _header(headers or {}, "x-should-retry")
        if directive in ("true", "false"):
            return directive == "true"
        return status in (408, 429) or status >= 500

    def delay(
        self,
        attempt: int,
        headers: Mapping[str, str] | None,
        now: float,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds before retry ``attempt`` (0-based): the server's hint, else the backoff."""
        hinted = retry_after(headers or {}, now)
        return hinted if hinted is not None else self.backoff.delay(attempt, rng)

    def next_delay(
        self,
        attempt: int,
        method: str,
        idempotency_key: str | None,
        status: int | None,
        headers: Mapping[str, str] | None,
        content: bytes,
        now: float,
    ) -> float | None:
        """The wait before retry ``attempt``, or ``None`` not to retry (used up, or not worth)."""
        if attempt >= self.max_retries:
            return None
        if not self.should_retry(method, idempotency_key, status, headers, content):
            return None
        return self.delay(attempt, headers, now)
