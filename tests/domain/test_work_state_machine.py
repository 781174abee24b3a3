"""The pure work state machine (spec/work.md §2-§4) straight on ``WorkItem`` records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workyard.clock import Instant, parse_ts
from workyard.domain import work as wm
from workyard.domain.models import WorkItem, WorkState
from workyard.errors import ConflictError, InvalidRequestError, PreconditionFailedError

T0 = parse_ts("2026-07-01T08:00:00.000000Z")
S = 1_000_000  # µs per second
TTL = 60
LEASED = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)


def item(state: WorkState = WorkState.QUEUED, **fields: object) -> WorkItem:
    base = WorkItem("work_1", "env_1", "sess_1", WorkState.QUEUED, T0, metadata={"k": "v"})
    return replace(base, state=state, **fields)  # type: ignore[arg-type]


def starting(at: Instant = T0, worker: str | None = "w1") -> WorkItem:
    return wm.ack(wm.deliver(item(), worker, at), worker, at, TTL)


def active(at: Instant = T0) -> WorkItem:
    return wm.heartbeat(starting(at), None, None, at, TTL).item


# expire ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [starting, active])
def test_expire_requeues_exactly_at_the_deadline(make: Callable[..., WorkItem]) -> None:
    leased = make(T0)
    deadline = T0 + TTL * S
    assert leased.lease_expires_at == deadline
    assert wm.expire(leased, deadline - 1) is leased
    requeued = wm.expire(leased, deadline)
    assert requeued == replace(
        leased,
        state=WorkState.QUEUED,
        acknowledged_at=None,
        started_at=None,
        latest_heartbeat_at=None,
        delivered_at=None,
        delivered_to=None,
        holder=None,
        lease_expires_at=None,
    )
    assert requeued.metadata == {"k": "v"}
    assert wm.deliverable(requeued, deadline, wm.DEFAULT_RECLAIM_MS)


def test_expire_of_stopping_stops_at_the_deadline_not_at_now() -> None:
    stopping = wm.stop(active(), False, T0 + 5 * S)
    deadline = T0 + TTL * S
    assert stopping.state is WorkState.STOPPING
    assert stopping.lease_expires_at == deadline
    assert wm.expire(stopping, deadline - 1) is stopping
    stopped = wm.expire(stopping, deadline + 37 * S)
    assert stopped.state is WorkState.STOPPED
    assert stopped.stopped_at == deadline
    assert stopped.lease_expires_at is None
    assert stopped.stop_requested_at == T0 + 5 * S
    assert stopped.acknowledged_at == T0
    assert stopped.started_at == T0


@pytest.mark.parametrize("state", [WorkState.QUEUED, WorkState.STOPPED])
def test_expire_leaves_unleased_items_alone(state: WorkState) -> None:
    unleased = item(state)
    assert wm.expire(unleased, T0 + 10_000 * S) is unleased


# deliverable / deliver ---------------------------------------------------------------------------
def test_never_delivered_queued_item_is_deliverable_with_any_window() -> None:
    for reclaim in (0, 1, 5000, 10**9):
        assert wm.deliverable(item(), T0, reclaim)


def test_delivery_window_boundary() -> None:
    delivered = wm.deliver(item(), "w1", T0)
    assert delivered.state is WorkState.QUEUED
    assert (delivered.delivered_at, delivered.delivered_to) == (T0, "w1")
    assert not wm.deliverable(delivered, T0 + 5000 * 1000 - 1, 5000)
    assert wm.deliverable(delivered, T0 + 5000 * 1000, 5000)
    assert wm.deliverable(delivered, T0, 0)
    again = wm.deliver(delivered, None, T0 + 6 * S)
    assert (again.delivered_at, again.delivered_to) == (T0 + 6 * S, None)


@pytest.mark.parametrize("state", [s for s in WorkState if s is not WorkState.QUEUED])
def test_only_queued_items_are_deliverable(state: WorkState) -> None:
    assert not wm.deliverable(item(state), T0 + 10_000 * S, 0)


# ack ---------------------------------------------------------------------------------------------
def test_ack_starts_the_ack_lease() -> None:
    acked = wm.ack(wm.deliver(item(), "w1", T0), "w1", T0 + S, TTL)
    assert acked.state is WorkState.STARTING
    assert acked.acknowledged_at == T0 + S
    assert acked.lease_expires_at == T0 + S + TTL * S
    assert acked.holder == "w1"
    assert acked.started_at is None
    assert acked.latest_heartbeat_at is None


def test_ack_without_worker_id_inherits_the_delivery_worker() -> None:
    acked = wm.ack(wm.deliver(item(), "w1", T0), None, T0, TTL)
    assert acked.holder == "w1"
    with pytest.raises(ConflictError):
        wm.ack(acked, "w2", T0, TTL)


def test_ack_of_never_delivered_item_is_allowed() -> None:
    acked = wm.ack(item(), "w9", T0, 30)
    assert acked.state is WorkState.STARTING
    assert acked.holder == "w9"
    assert acked.lease_expires_at == T0 + 30 * S


def test_ack_by_another_worker_is_a_conflict() -> None:
    delivered = wm.deliver(item(), "w1", T0)
    with pytest.raises(ConflictError):
        wm.ack(delivered, "w2", T0, TTL)
    assert wm.ack(wm.deliver(item(), None, T0), "w2", T0, TTL).holder == "w2"


@pytest.mark.parametrize("make", [starting, active])
@pytest.mark.parametrize("worker", [None, "w1"])
def test_ack_retry_by_the_holder_is_a_no_op(
    make: Callable[..., WorkItem], worker: str | None
) -> None:
    leased = make(T0)
    assert wm.ack(leased, worker, T0 + 9 * S, TTL) is leased
    with pytest.raises(ConflictError):
        wm.ack(leased, "w2", T0 + 9 * S, TTL)


@pytest.mark.parametrize("worker", [None, "w1", "w2"])
def test_ack_of_stopping_or_stopped_is_a_conflict(worker: str | None) -> None:
    stopping = wm.stop(active(), False, T0)
    for blocked in (stopping, wm.stop(stopping, False, T0), item(WorkState.STOPPED)):
        with pytest.raises(ConflictError):
            wm.ack(blocked, worker, T0, TTL)


# heartbeat ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("expected", [None, wm.NO_HEARTBEAT])
def test_first_heartbeat_activates(expected: str | None) -> None:
    beat = wm.heartbeat(starting(), expected, None, T0 + 3 * S, TTL)
    assert beat.ttl_seconds == TTL
    new = beat.item
    assert new.state is WorkState.ACTIVE
    assert new.started_at == new.latest_heartbeat_at == T0 + 3 * S
    assert new.lease_expires_at == T0 + 3 * S + TTL * S
    assert new.acknowledged_at == T0


def test_heartbeat_precondition_on_starting_item_with_a_timestamp_fails() -> None:
    with pytest.raises(PreconditionFailedError):
        wm.heartbeat(starting(), T0, None, T0, TTL)


def test_heartbeat_precondition_matches_the_latest_heartbeat_only() -> None:
    current = active(T0)
    with pytest.raises(PreconditionFailedError):
        wm.heartbeat(current, wm.NO_HEARTBEAT, None, T0 + S, TTL)
    with pytest.raises(PreconditionFailedError):
        wm.heartbeat(current, T0 - 1, None, T0 + S, TTL)
    beat = wm.heartbeat(current, T0, 120, T0 + S, TTL)
    assert beat.item.latest_heartbeat_at == T0 + S
    assert beat.item.started_at == T0
    assert beat.item.lease_expires_at == T0 + S + 120 * S
    assert beat.ttl_seconds == 120


def test_heartbeat_of_stopping_extends_the_lease_and_stays_stopping() -> None:
    stopping = wm.stop(active(), False, T0 + S)
    beat = wm.heartbeat(stopping, T0, 10_000, T0 + 2 * S, TTL)
    assert beat.item.state is WorkState.STOPPING
    assert beat.ttl_seconds == wm.MAX_TTL_SECONDS
    assert beat.item.lease_expires_at == T0 + 2 * S + 600 * S
    assert beat.item.stop_requested_at == T0 + S


@pytest.mark.parametrize("state", [WorkState.QUEUED, WorkState.STOPPED])
@pytest.mark.parametrize("expected", [None, wm.NO_HEARTBEAT, T0 - 5])
def test_heartbeat_without_a_lease_is_a_conflict_before_the_precondition(
    state: WorkState, expected: str | int | None
) -> None:
    with pytest.raises(ConflictError):
        wm.heartbeat(item(state, latest_heartbeat_at=T0), expected, None, T0, TTL)


def test_heartbeat_fencing_tokens_strictly_increase_at_the_same_instant() -> None:
    current = active(T0)
    tokens = [current.latest_heartbeat_at]
    for _ in range(5):
        beat = wm.heartbeat(current, tokens[-1], None, T0, TTL)
        current = beat.item
        token = current.latest_heartbeat_at
        assert token is not None
        assert current.lease_expires_at == token + TTL * S
        tokens.append(token)
    assert tokens == [T0 + i for i in range(6)]
    with pytest.raises(PreconditionFailedError):
        wm.heartbeat(current, T0 + 4, None, T0, TTL)  # the previous token is fenced off


def test_heartbeat_error_types_are_the_spec_ones() -> None:
    assert ConflictError.status == 409
    assert ConflictError.error_type == "invalid_request_error"
    assert PreconditionFailedError.status == 412
    assert PreconditionFailedError.error_type == "precondition_failed_error"


def test_first_heartbeat_of_a_stopping_lease_sets_started_at() -> None:
    stopping = wm.stop(starting(T0), False, T0 + S)
    beat = wm.heartbeat(stopping, wm.NO_HEARTBEAT, None, T0 + 2 * S, TTL)
    assert beat.item.state is WorkState.STOPPING
    assert beat.item.started_at == T0 + 2 * S


# stop --------------------------------------------------------------------------------------------
def test_graceful_stop_of_queued_stops_it() -> None:
    stopped = wm.stop(wm.deliver(item(), "w1", T0), False, T0 + S)
    assert stopped.state is WorkState.STOPPED
    assert stopped.stopped_at == T0 + S
    assert stopped.stop_requested_at is None


@pytest.mark.parametrize("make", [starting, active])
def test_graceful_stop_is_two_step_for_leased_work(make: Callable[..., WorkItem]) -> None:
    leased = make(T0)
    stopping = wm.stop(leased, False, T0 + S)
    assert stopping.state is WorkState.STOPPING
    assert stopping.stop_requested_at == T0 + S
    assert stopping.stopped_at is None
    assert stopping.lease_expires_at == leased.lease_expires_at
    stopped = wm.stop(stopping, False, T0 + 2 * S)
    assert stopped.state is WorkState.STOPPED
    assert stopped.stopped_at == T0 + 2 * S
    assert stopped.stop_requested_at == T0 + S
    assert stopped.lease_expires_at is None


@pytest.mark.parametrize("make", [item, starting, active])
def test_forced_stop_stops_at_once(make: Callable[..., WorkItem]) -> None:
    live = make()
    stopped = wm.stop(live, True, T0 + S)
    assert stopped.state is WorkState.STOPPED
    assert stopped.stopped_at == T0 + S
    assert stopped.stop_requested_at is None
    assert stopped.lease_expires_at is None


def test_forced_stop_keeps_stop_requested_at() -> None:
    stopping = wm.stop(active(), False, T0 + S)
    stopped = wm.stop(stopping, True, T0 + 2 * S)
    assert (stopped.stop_requested_at, stopped.stopped_at) == (T0 + S, T0 + 2 * S)


@pytest.mark.parametrize("force", [False, True])
def test_stopping_a_stopped_item_changes_nothing(force: bool) -> None:
    stopped = wm.stop(item(), True, T0)
    assert wm.stop(stopped, force, T0 + 99 * S) is stopped


# metadata and ttl --------------------------------------------------------------------------------
@pytest.mark.parametrize("state", list(WorkState))
def test_update_metadata_merges_in_any_state(state: WorkState) -> None:
    updated = wm.update_metadata(item(state), {"k": None, "a": "1", "missing": None})
    assert updated.metadata == {"a": "1"}
    assert updated.state is state
    unchanged = wm.update_metadata(item(state), {})
    assert unchanged.metadata == {"k": "v"}


@pytest.mark.parametrize("patch", [{"k": 1}, {"k": True}, {"k": ["x"]}, ["k"], "k"])
def test_update_metadata_rejects_non_string_values(patch: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        wm.update_metadata(item(), patch)
    assert caught.value.param == "metadata"


@pytest.mark.parametrize(
    ("desired", "expected"),
    [(None, 45), (1, 10), (9, 10), (10, 10), (11, 11), (599, 599), (600, 600), (601, 600)],
)
def test_clamp_ttl(desired: int | None, expected: int) -> None:
    assert wm.clamp_ttl(desired, 45) == expected


# properties over random operation sequences ------------------------------------------------------
Op = tuple[str, str | None, int, str, int | None, bool]
OPS = st.lists(
    st.tuples(
        st.sampled_from(["deliver", "ack", "heartbeat", "stop", "metadata", "wait"]),
        st.sampled_from([None, "w1", "w2"]),
        st.sampled_from([0, 0, 1, S, 5 * S, 10 * S, 59 * S, 60 * S, 61 * S, 700 * S]),
        st.sampled_from(["omitted", "no_heartbeat", "latest", "stale"]),
        st.one_of(st.none(), st.integers(1, 700)),
        st.booleans(),
    ),
    max_size=40,
)


def _expected(current: WorkItem, how: str) -> str | Instant | None:
    if how == "omitted":
        return None
    if how == "no_heartbeat" or current.latest_heartbeat_at is None:
        return wm.NO_HEARTBEAT
    return current.latest_heartbeat_at - (how == "stale")


def _apply(current: WorkItem, op: Op, now: Instant) -> tuple[WorkItem, bool]:
    """One operation as the service applies it (expiry first); ``(item, whether it succeeded)``."""
    kind, worker, _, how, ttl, flag = op
    current = wm.expire(current, now)
    try:
        if kind == "deliver":
            if not wm.deliverable(current, now, 0 if flag else wm.DEFAULT_RECLAIM_MS):
                return current, False
            return wm.deliver(current, worker, now), True
        if kind == "ack":
            return wm.ack(current, worker, now, TTL), True
        if kind == "heartbeat":
            return wm.heartbeat(current, _expected(current, how), ttl, now, TTL).item, True
        if kind == "stop":
            return wm.stop(current, flag, now), True
        if kind == "metadata":
            return wm.update_metadata(current, {"k": None if flag else how}), True
    except (ConflictError, PreconditionFailedError):
        return current, False
    return current, True


def _run(ops: list[Op]) -> list[tuple[Instant, WorkItem, str, bool]]:
    now, current = T0, item()
    history = [(now, current, "start", True)]
    for op in ops:
        now += op[2]
        current, ok = _apply(current, op, now)
        history.append((now, current, op[0], ok))
    return history


def _check_record(record: WorkItem) -> None:
    assert (record.lease_expires_at is not None) == (record.state in LEASED)
    if record.state is WorkState.QUEUED:
        assert record.acknowledged_at is None
        assert record.started_at is None
        assert record.latest_heartbeat_at is None
        assert record.holder is None
    if record.state is WorkState.STARTING:
        assert record.acknowledged_at is not None
        assert record.latest_heartbeat_at is None
    if record.state is WorkState.ACTIVE:
        assert record.started_at is not None
        assert record.latest_heartbeat_at is not None
    if record.state is WorkState.STOPPED:
        assert record.stopped_at is not None
    if record.latest_heartbeat_at is not None and record.lease_expires_at is not None:
        assert record.lease_expires_at >= record.latest_heartbeat_at + wm.MIN_TTL_SECONDS * S


@given(OPS, st.lists(st.integers(0, 800 * S), min_size=2, max_size=4))
def test_expire_is_idempotent_and_composes(ops: list[Op], offsets: list[int]) -> None:
    for now, record, _, _ in _run(ops):
        times = sorted(now + offset for offset in offsets)
        for i, t in enumerate(times):
            once = wm.expire(record, t)
            assert wm.expire(once, t) == once
            _check_record(once)
            for later in times[i:]:
                assert wm.expire(once, later) == wm.expire(record, later)


@given(OPS)
def test_a_stopped_item_never_changes_state_again(ops: list[Op]) -> None:
    stopped: WorkItem | None = None
    for now, record, _, _ in _run(ops):
        _check_record(record)
        if stopped is not None:
            assert replace(record, metadata=stopped.metadata) == stopped
        elif record.state is WorkState.STOPPED:
            assert record.stopped_at is not None
            assert record.stopped_at <= now
            stopped = record


@given(OPS)
def test_latest_heartbeat_never_decreases_within_a_lease(ops: list[Op]) -> None:
    previous: Instant | None = None
    for now, record, kind, ok in _run(ops):
        latest = record.latest_heartbeat_at
        if kind == "heartbeat" and ok:
            assert latest is not None
            assert latest >= now
            assert previous is None or latest > previous
        elif latest is not None:
            assert previous is None or latest >= previous
        previous = latest
