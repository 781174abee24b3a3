"""The one backoff formula and the server's hints, on a virtual clock (plain numbers, no sleep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from workyard.backoff import MAX_HINT_SECONDS, Backoff, retry_after
from workyard.client import ReconnectPolicy, RetryPolicy
from workyard.client._base import RequestSpec
from workyard.client._config import ClientConfig
from workyard.client._core import Attempts
from workyard.worker import backoff as worker_backoff
from workyard.worker.runtime import POLL_BACKOFF

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 1.0])
@pytest.mark.parametrize("attempt", [0, 1, 4, 9, 500])
def test_the_delay_spans_the_jittered_part_of_the_ceiling(jitter: float, attempt: int) -> None:
    backoff = Backoff(initial=0.5, cap=8.0, jitter=jitter)
    top = backoff.ceiling(attempt)
    assert top == min(8.0, 0.5 * 2 ** min(attempt, 64))
    assert backoff.delay(attempt, rng=lambda: 0.0) == pytest.approx(top * (1 - jitter))
    assert backoff.delay(attempt, rng=lambda: 1.0) == pytest.approx(top)


def test_every_user_draws_from_the_same_formula() -> None:
    draw = 0.3
    sdk = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25)
    assert sdk.delay(3, {}, 0.0, rng=lambda: draw) == Backoff(0.5, 2.0, 8.0, 0.25).delay(
        3, lambda: draw
    )
    stream = ReconnectPolicy(initial=0.5, cap=30.0)
    assert stream.delay(4, rng=lambda: draw) == Backoff(0.5, 2.0, 30.0, 0.5).delay(4, lambda: draw)
    assert stream.delay(4, 2000, rng=lambda: draw) == Backoff(2.0, 2.0, 30.0, 0.5).delay(
        4, lambda: draw
    )
    assert worker_backoff.Backoff is Backoff and isinstance(POLL_BACKOFF, Backoff)
    timer = worker_backoff.LeaseTimer.start(0.0, 60)
    assert [timer.failed(t) for t in (1.0, 2.0, 3.0, 4.0, 5.0)] == [1.0, 2.0, 4.0, 8.0, 10.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After-Ms": "1500"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": format_datetime(NOW + timedelta(seconds=42), usegmt=True)}, 42.0),
        ({"retry-after-ms": "bad", "retry-after": "2"}, 2.0),
        ({"retry-after": format_datetime(NOW - timedelta(seconds=5), usegmt=True)}, None),
        ({"retry-after": "0"}, None),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
        ({"retry-after": "1e12"}, MAX_HINT_SECONDS),
    ],
)
def test_retry_after_hints(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers, NOW.timestamp()) == expected


def test_a_call_s_attempts_on_a_virtual_clock() -> None:
    """Three answers, then success: the waits follow the hints and the backoff, the key stays."""
    config = ClientConfig(retry=RetryPolicy(max_retries=3, jitter=0.0))
    attempts = Attempts(config, RequestSpec("POST", "/sessions", body={}))
    clock = NOW.timestamp()
    key = attempts.request().idempotency_key
    assert key is not None
    waits = []
    for status, headers in [(503, {}), (429, {"retry-after": "5"}), (502, {})]:
        wait = attempts.answered(status, headers, b"", clock)
        assert wait is not None
        waits.append(wait)
        clock += wait
        assert attempts.request().idempotency_key == key
    assert waits == [0.5, 5.0, 2.0]  # attempt 0, the hint, attempt 2
    assert attempts.request().headers["X-Qoder-Retry-Count"] == "3"
    assert attempts.answered(503, {}, b"", clock) is None  # used up: decode the error
    assert attempts.answered(200, {}, b"", clock) is None


def test_a_connection_error_without_retries_left_is_raised() -> None:
    config = ClientConfig(retry=RetryPolicy(max_retries=1, jitter=0.0))
    attempts = Attempts(config, RequestSpec("GET", "/environments"))
    lost = httpx.ConnectError("refused")
    assert attempts.failed(lost, 0.0) == 0.5
    with pytest.raises(Exception, match="Connection error") as caught:
        attempts.failed(lost, 0.5)
    assert caught.value.__cause__ is lost
