"""How the lease keeper tells its own retried heartbeat from another worker's lease after a 412."""

from __future__ import annotations

from typing import Any

from workyard.client import WorkItem
from workyard.worker.lease import NO_HEARTBEAT, still_ours

ACKED = "2026-07-01T08:00:00.000000Z"
BEAT_1 = "2026-07-01T08:00:20.000000Z"
BEAT_2 = "2026-07-01T08:00:40.000000Z"


def _item(**fields: Any) -> WorkItem:
    base: dict[str, Any] = {
        "id": "work_0190a1b2c3d4e5f60718293a4b5c6d7e",
        "environment_id": "env_0190a1b2c3d4e5f60718293a4b5c6d7e",
        "state": "active",
        "acknowledged_at": ACKED,
        "latest_heartbeat_at": BEAT_2,
    }
    return WorkItem.from_dict({**base, **fields})


def test_our_own_heartbeat_applied_twice_is_still_ours() -> None:
    # We expected BEAT_1; our lost-answer heartbeat moved it to BEAT_2; same ack.
    assert still_ours(_item(), ACKED, BEAT_1)
    assert still_ours(_item(latest_heartbeat_at=BEAT_1), ACKED, BEAT_1)


def test_a_first_heartbeat_retried_is_still_ours() -> None:
    assert still_ours(_item(), ACKED, NO_HEARTBEAT)


def test_the_same_instant_in_another_notation_matches() -> None:
    assert still_ours(_item(acknowledged_at="2026-07-01T08:00:00+00:00"), ACKED, BEAT_1)


def test_another_worker_s_ack_is_not_ours() -> None:
    assert not still_ours(_item(acknowledged_at="2026-07-01T08:01:10.000000Z"), ACKED, BEAT_1)


def test_a_requeued_or_finished_item_is_not_ours() -> None:
    requeued = _item(state="queued", acknowledged_at=None, latest_heartbeat_at=None)
    assert not still_ours(requeued, ACKED, BEAT_1)
    assert not still_ours(_item(state="stopped"), ACKED, BEAT_1)


def test_a_new_lease_without_heartbeat_is_not_ours() -> None:
    assert not still_ours(_item(latest_heartbeat_at=None), ACKED, BEAT_1)


def test_a_heartbeat_older_than_expected_is_not_ours() -> None:
    assert not still_ours(_item(latest_heartbeat_at=BEAT_1), ACKED, BEAT_2)


def test_without_our_ack_time_nothing_is_ours() -> None:
    assert not still_ours(_item(), None, BEAT_1)


def test_a_draining_item_is_still_ours() -> None:
    assert still_ours(_item(state="stopping"), ACKED, BEAT_1)
