"""The one retry/backoff formula: the SDK's retries, the worker's loops and stream reconnects.

Pure arithmetic on seconds: no clock, no sleeping. Attempt ``n`` (0-based) may wait up to
``ceiling(n) = min(cap, initial * factor**n)``; the delay is drawn between
``(1 - jitter) * ceiling(n)`` and ``ceiling(n)``, so clients that failed together do not retry
together. ``jitter`` 0 gives the bare ceiling; 0.5 is "equal jitter"; the SDK uses 0.25, as
``qca-sdk`` does. A server's hint (``Retry-After-Ms``, ``Retry-After`` in seconds or as an
HTTP date) replaces the computed delay: see :func:`retry_after`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz

__all__ = ["MAX_HINT_SECONDS", "Backoff", "retry_after"]

MAX_HINT_SECONDS = 4_294_967.0
"""The longest server-requested wait honoured (the portable sleep limit, as ``qca-sdk``)."""

_MAX_EXPONENT = 64  # 2.0**64 is already far past any cap


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; the delay never exceeds ``cap``."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.5

    def ceiling(self, attempt: int) -> float:
        """The largest delay attempt ``attempt`` may wait."""
        exponent = min(max(attempt, 0), _MAX_EXPONENT)
        return min(self.cap, self.initial * self.factor**exponent)

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``attempt``; ``rng`` returns a number in ``[0, 1)``."""
        top = self.ceiling(attempt)
        return top * (1 - self.jitter) + top * self.jitter * rng()  # jitter, not crypto


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name), None)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The wait a response asks for, in seconds, or ``None`` when it asks for none.

    ``Retry-After-Ms`` (milliseconds) first, then ``Retry-After`` as seconds or as an HTTP date
    (relative to ``now``, seconds since the epoch). Zero, negative and unparsable values count as
    no hint; a hint is capped at :data:`MAX_HINT_SECONDS`.
    """
    delay: float | None = None
    millis = _header(headers, "retry-after-ms")
    try:
        delay = float(millis) / 1000 if millis is not None else None
    except ValueError:
        delay = None
    if delay is None:
        delay = _retry_after_value(_header(headers, "retry-after"), now)
    if delay is None or not delay > 0:
        return None
    return min(delay, MAX_HINT_SECONDS)


def _retry_after_value(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = parsedate_tz(value)
        return None if parsed is None else mktime_tz(parsed) - now
