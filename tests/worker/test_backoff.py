"""Backoff math and the lease timer, driven by plain numbers (no clock, no sleeping)."""

from __future__ import annotations

import pytest

from workyard.worker.backoff import Backoff, LeaseTimer
from workyard.worker.runtime import POLL_BACKOFF


def test_backoff_doubles_then_stays_at_the_cap() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, cap=30.0)
    assert [backoff.ceiling(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.ceiling(10_000) == 30.0  # no overflow for a long outage


@pytest.mark.parametrize("attempt", [0, 1, 3, 6, 50])
def test_jitter_spans_the_upper_half_of_the_ceiling(attempt: int) -> None:
    backoff = Backoff(initial=0.5, factor=2.0, cap=30.0)
    top = backoff.ceiling(attempt)
    assert backoff.delay(attempt, rng=lambda: 0.0) == top / 2
    assert backoff.delay(attempt, rng=lambda: 0.999999) == pytest.approx(top, rel=1e-5)
    assert backoff.delay(attempt, rng=lambda: 0.5) == pytest.approx(top * 0.75)


def test_poll_backoff_never_exceeds_thirty_seconds() -> None:
    delays = [POLL_BACKOFF.delay(n, rng=lambda: 0.999999) for n in range(40)]
    assert max(delays) <= 30.0
    assert delays[0] < 1.0
    assert delays[-1] > 29.9


def test_lease_timer_beats_at_once_then_every_third_of_the_ttl() -> None:
    timer = LeaseTimer.start(100.0, 60)
    assert timer.next_at == 100.0
    assert timer.deadline == 160.0
    timer.succeeded(101.0, 60)
    assert timer.next_at == 121.0
    assert timer.deadline == 161.0
    timer.succeeded(121.5, 30)  # the server may clamp the lease: the interval follows it
    assert timer.next_at == 131.5
    assert timer.deadline == 151.5


def test_lease_timer_retries_sooner_after_failures_but_never_past_the_deadline() -> None:
    timer = LeaseTimer.start(0.0, 60)
    timer.succeeded(0.0, 60)
    assert timer.failed(20.0) == 1.0
    assert timer.failed(21.0) == 2.0
    assert timer.failed(23.0) == 4.0
    assert timer.failed(27.0) == 8.0
    assert timer.failed(35.0) == 10.0  # capped at ttl / 6
    assert timer.failed(55.0) == 5.0  # capped at the deadline (60)
    assert timer.next_at == 60.0
    assert not timer.expired(59.999)
    assert timer.expired(60.0)


def test_lease_timer_recovers_after_a_success() -> None:
    timer = LeaseTimer.start(0.0, 30)
    timer.failed(1.0)
    timer.failed(2.0)
    timer.succeeded(4.0)
    assert timer.failures == 0
    assert timer.next_at == 14.0
    assert timer.failed(14.0) == 1.0


def test_lease_timer_expires_a_whole_ttl_after_the_last_success_was_sent() -> None:
    timer = LeaseTimer.start(10.0, 10)
    assert timer.expired(20.0)
    timer.succeeded(15.0)
    assert not timer.expired(24.9)
    assert timer.expired(25.0)
