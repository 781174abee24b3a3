"""IDs (prefixed UUIDv7, strictly increasing) and timestamps (RFC 3339, six digits, Z)."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workyard import ids
from workyard.clock import ManualClock, format_age, format_ts, parse_ts
from workyard.ids import PREFIXES, IdGenerator, is_id, new_id

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
MAX_INSTANT = parse_ts("9999-12-31T23:59:59.999999Z")


# --- IDs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_id_shape_is_prefix_and_32_lowercase_hex(prefix: str) -> None:
    value = new_id(prefix)
    assert re.fullmatch(rf"{prefix}_[0-9a-f]{{32}}", value), value
    assert is_id(prefix, value)


def test_prefixes_are_the_documented_ones() -> None:
    assert {"env", "work", "sess", "evt", "tok"} == PREFIXES


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        new_id("user")


def test_ten_thousand_ids_are_strictly_increasing() -> None:
    values = [new_id("work") for _ in range(10_000)]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert len(set(values)) == len(values)


def test_ids_are_uuidv7_with_rfc4122_variant() -> None:
    before_ms = time.time_ns() // 1_000_000
    value = new_id("env")
    after_ms = time.time_ns() // 1_000_000
    parsed = uuid.UUID(hex=value.removeprefix("env_"))
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    embedded_ms = parsed.int >> 80
    assert before_ms <= embedded_ms <= after_ms + 1


def _fake_time(values: list[int]) -> SimpleNamespace:
    feed: Iterator[int] = iter(values)
    return SimpleNamespace(time_ns=lambda: next(feed))


def test_ids_keep_increasing_when_the_wall_clock_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ms = 1_780_000_000_000
    steps = [ms, ms, ms - 5_000, ms - 10_000, ms + 1, ms + 1]
    monkeypatch.setattr(ids, "time", _fake_time([s * 1_000_000 for s in steps]))
    gen = IdGenerator()
    values = [gen.new("evt") for _ in steps]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    for value in values:
        parsed = uuid.UUID(hex=value.removeprefix("evt_"))
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize(
    "value",
    [
        "env_0190A1B2C3D4E5F60718293A4B5C6D7E",  # upper case
        "env_0190a1b2c3d4e5f60718293a4b5c6d7",  # 31 hex
        "env_0190a1b2c3d4e5f60718293a4b5c6d7e0",  # 33 hex
        "sess_0190a1b2c3d4e5f60718293a4b5c6d7e",  # other prefix
        "env-0190a1b2c3d4e5f60718293a4b5c6d7e",
        "env_0190a1b2-c3d4-e5f6-0718-293a4b5c",
        "env_0190a1b2c3d4e5f60718293a4b5c6d7e\n",
        "",
    ],
)
def test_is_id_rejects_wrong_shapes(value: str) -> None:
    assert not is_id("env", value)


# --- Timestamps --------------------------------------------------------------------------------


def test_format_has_six_fractional_digits_and_z() -> None:
    assert format_ts(parse_ts("2026-07-01T08:00:00Z")) == "2026-07-01T08:00:00.000000Z"
    assert format_ts(parse_ts("2026-07-01T08:16:06.120394Z")) == "2026-07-01T08:16:06.120394Z"
    assert format_ts(0) == "1970-01-01T00:00:00.000000Z"


def test_z_and_utc_offset_parse_to_the_same_instant() -> None:
    assert parse_ts("2026-07-01T08:16:06.120394Z") == parse_ts("2026-07-01T08:16:06.120394+00:00")


def test_offsets_are_applied() -> None:
    utc = parse_ts("2026-07-01T08:16:06.5Z")
    assert parse_ts("2026-07-01T10:16:06.500000+02:00") == utc
    assert parse_ts("2026-07-01T03:46:06.5-04:30") == utc


def test_fractions_beyond_microseconds_are_truncated() -> None:
    assert parse_ts("2026-07-01T08:16:06.120394999Z") == parse_ts("2026-07-01T08:16:06.120394Z")
    assert parse_ts("2026-07-01T08:16:06.1Z") == parse_ts("2026-07-01T08:16:06.100000Z")


@pytest.mark.parametrize(
    "text",
    [
        "2026-07-01T08:16:06",  # no offset
        "2026-07-01T08:16:06.120394",  # no offset
        "2026-07-01",
        "08:16:06Z",
        "2026-07-01T08:16Z",
        "2026/07/01T08:16:06Z",
        "yesterday",
        "",
        "2026-07-01T08:16:06Z ",
    ],
)
def test_parse_rejects_timestamps_without_offset_or_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_ts(text)


@given(st.integers(min_value=0, max_value=MAX_INSTANT))
def test_format_then_parse_round_trips(instant: int) -> None:
    text = format_ts(instant)
    assert TS_RE.match(text), text
    assert parse_ts(text) == instant


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock(parse_ts("2026-07-01T08:00:00Z"))
    calls: list[int] = []
    clock.on_advance(lambda: calls.append(clock.now()))
    start = clock.now()
    assert clock.now() == start
    assert clock.advance(1.5) == start + 1_500_000
    assert clock.now() == start + 1_500_000
    assert calls == [start + 1_500_000]
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    assert clock.now() == start + 1_500_000


@pytest.mark.parametrize("offset", ["+99:99", "+24:00", "-00:60"])
def test_parse_rejects_out_of_range_offsets(offset: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_ts(f"2026-07-01T08:16:06{offset}")


@pytest.mark.parametrize(
    ("seconds_ago", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (192, "3m12s"), (3599, "59m59s"), (7500, "2h05m")],
)
def test_format_age_reads_like_a_duration(seconds_ago: float, text: str) -> None:
    now = parse_ts("2026-11-30T09:00:00.000000Z")
    assert format_age(now - int(seconds_ago * 1_000_000), now) == text


def test_format_age_of_nothing_or_the_future() -> None:
    now = parse_ts("2026-11-30T09:00:00.000000Z")
    assert format_age(None, now) == ""
    assert format_age(now + 5_000_000, now) == "0s"  # a clock a little ahead is not negative
