"""A stateful model test of the work API (spec/work.md) over real HTTP.

Hypothesis drives random sequences of session creation, polls, acks, heartbeats, stops, metadata
updates and clock jumps through the ASGI app. An independent model written from the spec text (it
does not use ``workyard.domain.work``) predicts every response, and after every step every item is
compared with the model through ``GET …/work/{id}``, the list endpoint and the stats endpoint.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from workyard.api import create_app
from workyard.clock import ManualClock
from workyard.config import Settings
from workyard.domain.models import TokenKind
from workyard.service.container import build_services

API = "http://testserver/api/v1/cloud"
US = 1_000_000
START = (datetime(2026, 7, 1, 8, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
    microseconds=1
)
DEFAULT_TTL = 60
DEFAULT_RECLAIM_MS = 5000
PENDING_MS = 5000
POLLERS_WINDOW = 30 * US
WORKERS = ("worker-a", "worker-b", "worker-c")
LEASED = ("starting", "active", "stopping")


def ts(instant: int | None, *, offset: bool = False) -> str | None:
    """RFC 3339 with six fractional digits (``Z``, or ``+00:00`` when ``offset``)."""
    if instant is None:
        return None
    seconds, micros = divmod(instant, US)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{micros:06d}" + ("+00:00" if offset else "Z")


@dataclass
class Item:
    """The spec's view of one work item, plus the bookkeeping the spec describes in words."""

    id: str
    session_id: str
    created_at: int
    metadata: dict[str, str]
    state: str = "queued"
    acknowledged_at: int | None = None
    started_at: int | None = None
    latest_heartbeat_at: int | None = None
    stop_requested_at: int | None = None
    stopped_at: int | None = None
    delivered_at: int | None = None
    delivered_to: str | None = None
    lease_holder: str | None = None
    lease_deadline: int | None = None
    returned_heartbeats: list[int] = field(default_factory=list)

    def expire(self, now: int) -> None:
        """§2 Expiry, exactly at the deadline."""
        if self.state not in LEASED or self.lease_deadline is None or now < self.lease_deadline:
            return
        if self.state == "stopping":
            self.state, self.stopped_at = "stopped", self.lease_deadline
        else:
            self.state = "queued"
            self.acknowledged_at = self.started_at = self.latest_heartbeat_at = None
            self.delivered_at = self.delivered_to = self.lease_holder = None
        self.lease_deadline = None

    def deliverable(self, now: int, reclaim_ms: int) -> bool:
        if self.state != "queued":
            return False
        return self.delivered_at is None or now - self.delivered_at >= reclaim_ms * 1000

    def wire(self, environment_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "work",
            "environment_id": environment_id,
            "data": {"type": "session", "id": self.session_id},
            "state": self.state,
            "created_at": ts(self.created_at),
            "acknowledged_at": ts(self.acknowledged_at),
            "started_at": ts(self.started_at),
            "latest_heartbeat_at": ts(self.latest_heartbeat_at),
            "stop_requested_at": ts(self.stop_requested_at),
            "stopped_at": ts(self.stopped_at),
            "metadata": self.metadata,
            "secret": None,
        }


def clamp(desired: int | None) -> int:
    return DEFAULT_TTL if desired is None else max(10, min(600, desired))


METADATA = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", "ü 1"]))
PATCH = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]), st.one_of(st.none(), st.sampled_from(["x", "z", ""]))
)
TTLS = st.one_of(
    st.none(), st.sampled_from([1, 9, 10, 11, 30, 60, 599, 600, 601, 10_000]), st.integers(1, 900)
)
ADVANCES = st.one_of(
    st.sampled_from([0, 1, 5 * US - 1, 5 * US, 10 * US, 60 * US - 1, 60 * US, 61 * US, 120 * US]),
    st.integers(0, 120 * US),
)
EXPECTED = st.sampled_from(["omitted", "NO_HEARTBEAT", "last", "stale"])
PICK = st.one_of(st.just(-1), st.integers(min_value=0))  # -1: the item touched last


@settings(max_examples=60, stateful_step_count=40, deadline=None)
class WorkModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock(START)
        config = Settings(data_dir=Path(self.tmp.name), manual_clock=True, token_cache_seconds=0)
        self.services = build_services(config, clock=self.clock)
        self.run(self.services.start())
        _, token = self.run(self.services.tokens.create("model", TokenKind.ADMIN, ()))
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.services, manage_lifecycle=False)),
            base_url=API,
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        )
        response = self.call(
            "POST", "/environments", json={"name": "m", "config": {"type": "self_hosted"}}
        )
        assert response.status_code == 201, response.text
        self.env: str = response.json()["id"]
        self.items: dict[str, Item] = {}
        self.polled: dict[str, int] = {}
        self.last: str | None = None

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.run(self.client.request(method, path, **kwargs))
        return response

    def teardown(self) -> None:
        try:
            self.run(self.client.aclose())
            self.run(self.services.stop())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            self.tmp.cleanup()

    # helpers ----------------------------------------------------------------------------------
    @property
    def now(self) -> int:
        return self.clock.now()

    def work(self, suffix: str = "") -> str:
        return f"/environments/{self.env}/work{suffix}"

    def pick(self, n: int) -> Item:
        ids = sorted(self.items)
        item = self.items[self.last if n < 0 and self.last else ids[n % len(ids)]]
        self.last = item.id
        for each in self.items.values():
            each.expire(self.now)
        return item

    def expect_error(self, response: httpx.Response, status: int) -> None:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        expected = {409: "invalid_request_error", 412: "precondition_failed_error"}[status]
        assert error["type"] == expected, error
        assert not any(worker in error["message"] for worker in WORKERS), error

    # rules ------------------------------------------------------------------------------------
    @initialize(metadata=METADATA)
    def first_session(self, metadata: dict[str, str]) -> None:
        self.create_session(metadata)

    @precondition(lambda self: sum(i.state != "stopped" for i in self.items.values()) < 4)
    @rule(metadata=METADATA)
    def create_session(self, metadata: dict[str, str]) -> None:
        body = {"environment_id": self.env, "metadata": metadata}
        response = self.call("POST", "/sessions", json=body)
        assert response.status_code == 201, response.text
        session = response.json()
        item = Item(session["work_id"], session["id"], self.now, dict(metadata))
        assert all(item.id > existing for existing in self.items)
        self.items[item.id] = item
        self.last = item.id
        self.expect_item(self.call("GET", self.work(f"/{item.id}")), item)

    @rule(
        worker=st.one_of(st.none(), st.sampled_from(WORKERS)),
        reclaim=st.sampled_from([None, 0, 5000]),
    )
    def poll(self, worker: str | None, reclaim: int | None) -> None:
        params = {} if reclaim is None else {"reclaim_older_than_ms": reclaim}
        headers = {} if worker is None else {"Worker-ID": worker}
        response = self.call("GET", self.work("/poll"), params=params, headers=headers)
        now = self.now
        if worker is not None:
            self.polled[worker] = now
        for each in self.items.values():
            each.expire(now)
        window = DEFAULT_RECLAIM_MS if reclaim is None else reclaim
        ready = sorted(i for i, item in self.items.items() if item.deliverable(now, window))
        if not ready:
            assert response.status_code == 200, response.text
            assert response.json() is None
            return
        item = self.items[ready[0]]
        item.delivered_at, item.delivered_to = now, worker
        self.last = item.id
        self.expect_item(response, item)

    @precondition(lambda self: bool(self.items))
    @rule(n=PICK, worker=st.one_of(st.none(), st.sampled_from(WORKERS)))
    def ack(self, n: int, worker: str | None) -> None:
        item = self.pick(n)
        headers = {} if worker is None else {"Worker-ID": worker}
        response = self.call("POST", self.work(f"/{item.id}/ack"), headers=headers)
        recorded = item.delivered_to if item.state == "queued" else item.lease_holder
        if worker is not None and recorded is not None and worker != recorded:
            return self.expect_error(response, 409)
        if item.state in ("stopping", "stopped"):
            return self.expect_error(response, 409)
        if item.state == "queued":
            item.state, item.acknowledged_at = "starting", self.now
            item.lease_holder = worker if worker is not None else item.delivered_to
            item.lease_deadline = self.now + DEFAULT_TTL * US
        return self.expect_item(response, item, secret=f"wis-{item.id}.")

    def expect_item(self, response: httpx.Response, item: Item, secret: str = "") -> None:
        """``secret``: the start of the credential the response carries (an ack), else none."""
        assert response.status_code == 200, response.text
        body = response.json()
        if secret:
            assert body["secret"].startswith(secret)
            body["secret"] = None
        assert body == item.wire(self.env)

    @precondition(lambda self: bool(self.items))
    @rule(
        n=PICK,
        expected=EXPECTED,
        offset=st.booleans(),
        desired=TTLS,
    )
    def heartbeat(self, n: int, expected: str, offset: bool, desired: int | None) -> None:
        item = self.pick(n)
        token: int | None = None
        params: dict[str, Any] = {} if desired is None else {"desired_ttl_seconds": desired}
        if expected == "NO_HEARTBEAT":
            params["expected_last_heartbeat"] = expected
        elif expected != "omitted":
            returned = item.returned_heartbeats
            if expected == "last" and returned:
                token = returned[-1]
            elif returned:
                token = returned[-2] if len(returned) > 1 else returned[-1] - 1
            else:
                token = item.created_at
            params["expected_last_heartbeat"] = ts(token, offset=offset)
        response = self.call("POST", self.work(f"/{item.id}/heartbeat"), params=params)
        if item.state not in LEASED:
            return self.expect_error(response, 409)
        holds = {
            "omitted": True,
            "NO_HEARTBEAT": item.latest_heartbeat_at is None,
        }.get(expected, token == item.latest_heartbeat_at)
        if not holds:
            return self.expect_error(response, 412)
        now = self.now
        previous = item.latest_heartbeat_at
        beat = now if previous is None else max(now, previous + 1)
        ttl = clamp(desired)
        item.latest_heartbeat_at, item.lease_deadline = beat, beat + ttl * US
        if item.started_at is None:  # §4: the first successful heartbeat of the current lease
            item.started_at = beat
        if item.state == "starting":
            item.state = "active"
        item.returned_heartbeats.append(beat)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "type": "work_heartbeat",
            "last_heartbeat": ts(beat),
            "lease_extended": True,
            "state": item.state,
            "ttl_seconds": ttl,
        }
        return None

    @precondition(lambda self: bool(self.items))
    @rule(n=PICK, body=st.sampled_from([None, {}, {"force": False}, {"force": True}]))
    def stop(self, n: int, body: dict[str, bool] | None) -> None:
        item = self.pick(n)
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        response = self.call("POST", self.work(f"/{item.id}/stop"), **kwargs)
        force = bool(body and body.get("force"))
        if item.state in ("starting", "active") and not force:
            item.state, item.stop_requested_at = "stopping", self.now
        elif item.state != "stopped":
            item.state, item.stopped_at, item.lease_deadline = "stopped", self.now, None
        self.expect_item(response, item)

    @precondition(lambda self: bool(self.items))
    @rule(n=PICK, patch=st.one_of(st.none(), PATCH))
    def update_metadata(self, n: int, patch: dict[str, str | None] | None) -> None:
        item = self.pick(n)
        body = {} if patch is None else {"metadata": patch}
        response = self.call("POST", self.work(f"/{item.id}"), json=body)
        for key, value in (patch or {}).items():
            if value is None:
                item.metadata.pop(key, None)
            else:
                item.metadata[key] = value
        self.expect_item(response, item)

    @rule(micros=ADVANCES)
    def advance(self, micros: int) -> None:
        self.clock.advance(micros / US)

    @precondition(lambda self: bool(self.items))
    @rule(early=st.booleans())
    def advance_to_a_boundary(self, early: bool) -> None:
        """Jump to the next lease deadline or delivery-window end (or 1 µs before it)."""
        now = self.now
        boundaries = [
            at
            for item in self.items.values()
            for at in (
                item.lease_deadline,
                None if item.delivered_at is None else item.delivered_at + PENDING_MS * 1000,
            )
            if at is not None and at - early > now
        ]
        if boundaries:
            self.clock.advance((min(boundaries) - early - now) / US)

    # Hypothesis draws rules uniformly: these make the lease operations twice as frequent.
    @precondition(lambda self: bool(self.items))
    @rule(n=PICK, worker=st.one_of(st.none(), st.sampled_from(WORKERS)))
    def ack_again(self, n: int, worker: str | None) -> None:
        self.ack(n, worker)

    @precondition(lambda self: bool(self.items))
    @rule(n=PICK, expected=EXPECTED, offset=st.booleans(), desired=TTLS)
    def heartbeat_again(self, n: int, expected: str, offset: bool, desired: int | None) -> None:
        self.heartbeat(n, expected, offset, desired)

    # invariants -------------------------------------------------------------------------------
    @invariant()
    def every_item_matches_the_model(self) -> None:
        now = self.now
        for item in self.items.values():
            item.expire(now)
        for item in self.items.values():
            self.expect_item(self.call("GET", self.work(f"/{item.id}")), item)
        response = self.call("GET", self.work(), params={"limit": 100})
        assert response.status_code == 200, response.text
        listed = response.json()
        assert listed["data"] == [self.items[i].wire(self.env) for i in sorted(self.items)]
        assert listed["has_more"] is False

    @invariant()
    def stats_match_the_model(self) -> None:
        response = self.call("GET", self.work("/stats"))
        assert response.status_code == 200, response.text
        now = self.now
        queued = [item for item in self.items.values() if item.state == "queued"]
        stats = response.json()
        assert stats["depth"] == sum(item.deliverable(now, DEFAULT_RECLAIM_MS) for item in queued)
        assert stats["pending"] == sum(
            item.delivered_at is not None and now - item.delivered_at < PENDING_MS * 1000
            for item in queued
        )
        oldest = min((item.created_at for item in queued), default=None)
        assert stats["oldest_queued_at"] == ts(oldest)
        ages = [now - at for at in self.polled.values()]
        if POLLERS_WINDOW not in ages:  # "in the last 30 s": the exact boundary is not specified
            assert stats["workers_polling"] == sum(age < POLLERS_WINDOW for age in ages)


TestCase = WorkModel.TestCase


def test_minimal_sequence_heartbeat_while_stopping_sets_started_at() -> None:
    """The minimal failing sequence Hypothesis found, replayed deterministically."""
    state = WorkModel()
    try:
        state.first_session(metadata={})
        state.ack(n=-1, worker=None)
        state.stop(body=None, n=-1)
        state.heartbeat(desired=None, expected="omitted", n=-1, offset=False)
        state.every_item_matches_the_model()
    finally:
        state.teardown()
