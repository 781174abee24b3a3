"""``format_ts`` (and the log lines' timestamps) remember whole seconds: the answers stay exactly
a fresh ``datetime``'s, for repeated seconds, neighbouring ones, instants before 1970, and past the
memory's bound."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from workyard.clock import format_ts
from workyard.logs import _timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _reference(instant: int) -> str:
    return (_EPOCH + timedelta(microseconds=instant)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_repeated_and_neighbouring_seconds() -> None:
    base = 1_782_892_800_000_000
    for instant in (base, base + 1, base + 999_999, base + 1_000_000, base - 1, base):
        assert format_ts(instant) == _reference(instant)


def test_before_1970_and_far_ahead() -> None:
    for instant in (-1, -1_000_000, -999_999, -86_400_000_001, 253_402_300_799_999_999):
        assert format_ts(instant) == _reference(instant)


def test_many_distinct_seconds_beyond_the_bound() -> None:
    rng = random.Random(7)
    instants = [rng.randrange(0, 4_000_000_000_000_000) for _ in range(10_000)]
    for instant in instants + instants[:100]:
        assert format_ts(instant) == _reference(instant)


def test_log_line_timestamps_are_remembered_by_the_second_too() -> None:
    def reference(created: float) -> str:
        whole = int(created)
        millis = int((created - whole) * 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"

    for created in (0.0, 1.5, 1.999, 1_782_892_800.123, 1_782_892_800.9, 1_782_892_801.0, 5.25):
        assert _timestamp(created) == reference(created)
