"""Time, injected. Instants are integer microseconds since the Unix epoch (UTC).

``SystemClock`` reads the wall clock. ``ManualClock`` is frozen until ``advance`` is called; it is
what ``workyard serve --manual-clock`` and the tests use, so nothing sleeps to wait for a deadline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from workyard.domain.limits import quote

__all__ = [
    "Clock",
    "Instant",
    "ManualClock",
    "SystemClock",
    "format_age",
    "format_ts",
    "parse_ts",
]

Instant = int  # microseconds since 1970-01-01T00:00:00Z

_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})\Z"
)


class Clock(Protocol):
    """What every time-dependent path takes instead of reading the wall clock."""

    def now(self) -> Instant: ...

    def real_delay(self, until: Instant) -> float | None:
        """Real seconds to wait until ``until``; ``None`` when only ``advance`` can get there."""
        ...

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Register a callback run after the clock jumps (manual clocks only)."""
        ...


class SystemClock:
    def now(self) -> Instant:
        return time.time_ns() // 1000

    def real_delay(self, until: Instant) -> float | None:
        return max(0.0, (until - self.now()) / _US)

    def on_advance(self, callback: Callable[[], None]) -> None:
        return None


class ManualClock:
    """A frozen clock that moves only when told to."""

    def __init__(self, start: Instant | None = None) -> None:
        self._now = start if start is not None else time.time_ns() // 1000
        self._callbacks: list[Callable[[], None]] = []

    def now(self) -> Instant:
        return self._now

    def real_delay(self, until: Instant) -> float | None:
        return 0.0 if until <= self._now else None

    def on_advance(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def advance(self, seconds: float) -> Instant:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self._now += round(seconds * _US)
        for callback in list(self._callbacks):
            callback()
        return self._now


def format_age(instant: Instant | None, now: Instant) -> str:
    """How long ago ``instant`` was, for people: ``42s``, ``3m12s``, ``2h05m`` (``""`` for none)."""
    if instant is None:
        return ""
    seconds = max(0, (now - instant) // _US)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def format_ts(instant: Instant) -> str:
    """RFC 3339, UTC, exactly six fractional digits and ``Z``.

    The whole-second part is remembered (a response's timestamps, and the next requests', mostly
    share their second): a dict look-up instead of a ``datetime`` and a ``strftime`` each time.
    """
    seconds, micros = divmod(instant, _US)
    head = _SECOND_HEADS.get(seconds)
    if head is None:
        if len(_SECOND_HEADS) >= _SECOND_HEADS_LIMIT:
            _SECOND_HEADS.clear()
        head = f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}."
        _SECOND_HEADS[seconds] = head
    return f"{head}{micros:06d}Z"


_SECOND_HEADS: dict[int, str] = {}  # whole seconds → "YYYY-MM-DDTHH:MM:SS."
_SECOND_HEADS_LIMIT = 4096


def parse_ts(text: str) -> Instant:
    """Parse an RFC 3339 timestamp with an explicit offset; raise ``ValueError`` otherwise.

    Fractions beyond microseconds are truncated.
    """
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {quote(text)}")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    micros = int((frac or "0").ljust(6, "0")[:6])
    shift = 0
    if offset not in ("Z", "z"):
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"not an RFC 3339 timestamp (offset out of range): {quote(text)}")
        shift = (1 if offset[0] == "+" else -1) * (hours * 3600 + minutes * 60)
    whole = (dt - _EPOCH).days * 86400 + (dt - _EPOCH).seconds - shift
    return whole * _US + micros
