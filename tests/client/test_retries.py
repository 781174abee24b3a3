"""The clients' retries, per-request options and ``with_options`` over canned answers.

Waits are recorded by a virtual sleep (the client's ``_sleep``): nothing sleeps for real.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from workyard.client import (
    USER_AGENT,
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Client,
    ConflictError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)

ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"
BASE = "http://server.test/api/v1/cloud"
NOW = 1_800_000_000.0  # the virtual wall clock

Handler = Callable[[httpx.Request], httpx.Response]


def _env() -> dict[str, Any]:
    return {"id": ENV, "type": "environment", "name": "n", "config": {"type": "self_hosted"}}


class Server:
    """Canned answers in order (then 200 with an environment); records every request."""

    def __init__(self, *answers: httpx.Response | type[httpx.TransportError]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            return httpx.Response(200, json=_env())
        answer = self.answers.pop(0)
        if isinstance(answer, httpx.Response):
            return answer
        raise answer("no answer", request=request)

    def client(self, **kwargs: Any) -> tuple[Client, list[float]]:
        http = httpx.Client(transport=httpx.MockTransport(self))
        client = Client(BASE, "pt-test", http_client=http, **kwargs)
        waits: list[float] = []
        client._sleep = waits.append
        client._wall = lambda: NOW
        return client, waits

    def keys(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.requests]


def error(status: int, headers: dict[str, str] | None = None, param: str | None = None) -> Any:
    body: dict[str, Any] = {"type": "error", "error": {"type": "x", "message": f"s{status}"}}
    if param is not None:
        body["error"]["param"] = param
    return httpx.Response(status, json=body, headers=headers)


def test_a_get_is_retried_on_408_429_and_5xx_with_growing_jittered_waits() -> None:
    server = Server(error(408), error(429), error(500))
    client, waits = server.client(max_retries=3)
    assert client.environments.retrieve(ENV).id == ENV
    assert len(server.requests) == 4
    assert [r.headers["x-qoder-retry-count"] for r in server.requests] == ["0", "1", "2", "3"]
    for attempt, wait in enumerate(waits):  # 0.5 s doubling, less up to 25 % jitter
        top = 0.5 * 2**attempt
        assert 0.75 * top <= wait <= top


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    server = Server(error(500), error(502), error(503), error(503))
    client, waits = server.client()
    with pytest.raises(InternalServerError) as caught:
        client.environments.retrieve(ENV)
    assert len(server.requests) == 3 and len(waits) == 2
    assert caught.value.status_code == 503
    assert caught.value.message == "Error code: 503 - s503"


def test_a_post_carries_one_idempotency_key_across_its_retries() -> None:
    server = Server(error(503), httpx.ConnectError)
    client, _ = server.client()
    client.sessions.create(environment_id=ENV)
    keys = server.keys()
    assert len(keys) == 3 and keys[0] is not None and len(set(keys)) == 1
    client.sessions.create(environment_id=ENV)
    assert server.keys()[3] not in keys  # a new call, a new key


def test_a_caller_idempotency_key_is_kept_and_no_retries_means_no_key() -> None:
    server = Server(error(503))
    client, _ = server.client()
    client.environments.create(name="n", extra_headers={"Idempotency-Key": "mine"})
    assert server.keys() == ["mine", "mine"]
    single = Server(error(503))
    bare, _ = single.client(max_retries=0)
    with pytest.raises(InternalServerError):
        bare.environments.create(name="n")
    assert single.keys() == [None]


def test_a_conflict_is_not_retried_unless_the_keyed_request_is_in_progress() -> None:
    server = Server(error(409))
    client, _ = server.client()
    with pytest.raises(ConflictError):
        client.work.heartbeat(ENV, "work_1", expected_last_heartbeat="NO_HEARTBEAT")
    assert len(server.requests) == 1
    busy = Server(error(409, param="Idempotency-Key"))
    client, _ = busy.client()
    client.environments.create(name="n")
    assert len(busy.requests) == 2


def test_a_delete_is_retried_only_after_429() -> None:
    server = Server(error(503))
    client, _ = server.client()
    with pytest.raises(InternalServerError):
        client.sessions.delete("sess_1")
    assert len(server.requests) == 1
    limited = Server(error(429), httpx.Response(200, json={"id": "sess_1", "type": "x"}))
    client, _ = limited.client()
    assert client.sessions.delete("sess_1").id == "sess_1"
    assert len(limited.requests) == 2


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "Fri, 15 Jan 2027 08:00:30 GMT"}, 30.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ],
)
def test_the_server_hint_replaces_the_backoff(headers: dict[str, str], wait: float) -> None:
    server = Server(error(429, headers))
    client, waits = server.client()
    eight = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()
    client._wall = lambda: eight
    client.environments.retrieve(ENV)
    assert waits == [pytest.approx(wait)]


def test_x_should_retry_overrides_the_status_rule() -> None:
    server = Server(error(400, {"x-should-retry": "true"}), error(500, {"x-should-retry": "false"}))
    client, _ = server.client()
    with pytest.raises(InternalServerError):
        client.environments.retrieve(ENV)
    assert len(server.requests) == 2


def test_connection_errors_and_timeouts_are_raised_after_the_retries() -> None:
    server = Server(httpx.ConnectError, httpx.ConnectError, httpx.ConnectError)
    client, _ = server.client()
    with pytest.raises(APIConnectionError) as caught:
        client.work.stats(ENV)
    assert type(caught.value) is APIConnectionError
    assert caught.value.message == "Connection error."
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    slow = Server(httpx.ReadTimeout)
    client, _ = slow.client(max_retries=0)
    with pytest.raises(APITimeoutError, match="timed out"):
        client.work.stats(ENV)


def test_a_rate_limited_post_without_retries_left_raises_rate_limit_error() -> None:
    server = Server(error(429))
    client, _ = server.client(max_retries=0)
    with pytest.raises(RateLimitError):
        client.work.ack(ENV, "work_1")


def test_per_request_options_reach_the_wire() -> None:
    server = Server()
    client, _ = server.client()
    client.environments.update(
        ENV,
        name="x",
        extra_headers={"X-Trace": "t1"},
        extra_query={"debug": True, "tags": ["a", "b"]},
        extra_body={"description": "d"},
        timeout=3.0,
    )
    (request,) = server.requests
    assert request.headers["x-trace"] == "t1"
    assert request.url.params.multi_items() == [("debug", "true"), ("tags", "a"), ("tags", "b")]
    assert json.loads(request.content) == {"name": "x", "description": "d"}
    assert request.extensions["timeout"] == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


def test_the_default_timeout_is_split_and_the_user_agent_versioned() -> None:
    server = Server()
    client, _ = server.client()
    client.environments.retrieve(ENV)
    (request,) = server.requests
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 600.0,
        "write": 600.0,
        "pool": 600.0,
    }
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("workyard-python/") and USER_AGENT[16:17].isdigit()


def test_with_options_changes_a_copy_that_shares_the_pool() -> None:
    server = Server(error(503))
    client, _ = server.client(default_headers={"X-A": "1"})
    other = client.with_options(max_retries=0, default_headers={"X-B": "2"}, timeout=9.0)
    assert (other.max_retries, client.max_retries) == (0, 2)
    with pytest.raises(InternalServerError):
        other.environments.retrieve(ENV)
    other.close()  # the copy does not own the pool
    client.environments.retrieve(ENV)
    first, second = server.requests
    assert (first.headers["x-a"], first.headers["x-b"]) == ("1", "2")
    assert first.extensions["timeout"]["read"] == 9.0
    assert "x-b" not in second.headers


def test_qoder_variables_are_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKYARD_URL", "WORKYARD_TOKEN", "QODER_PAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QODER_MANAGED_BASE_URL", "http://qoder.test/api/v1/cloud/")
    monkeypatch.setenv("QODER_ACCESS_TOKEN", "at-qoder")
    client = Client()
    assert (client.base_url, client.config.token) == ("http://qoder.test/api/v1/cloud", "at-qoder")
    monkeypatch.setenv("WORKYARD_TOKEN", "pt-workyard")
    monkeypatch.setenv("WORKYARD_URL", "http://workyard.test")
    client = Client()
    assert (client.base_url, client.config.token) == (
        "http://workyard.test/api/v1/cloud",
        "pt-workyard",
    )


async def test_the_async_client_retries_with_the_same_rules() -> None:
    server = Server(error(502), httpx.ConnectError)
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncClient(BASE, "pt", http_client=http) as client:
        client._sleep = sleep
        env = await client.environments.archive(ENV)
    assert env.id == ENV
    assert len(server.requests) == 3 and len(waits) == 2
    assert len(set(server.keys())) == 1


def test_the_policy_is_pure_arithmetic() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=5.0, jitter=0.25)
    top = [policy.delay(n, {}, NOW, rng=lambda: 1.0) for n in range(5)]
    low = [policy.delay(n, {}, NOW, rng=lambda: 0.0) for n in range(5)]
    assert top == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert low == [0.75, 1.5, 3.0, 3.75, 3.75]
    assert policy.next_delay(3, "GET", None, 500, {}, b"", NOW) is None  # used up
    assert policy.next_delay(0, "POST", None, 500, {}, b"", NOW) is None  # not safe
    assert policy.next_delay(0, "POST", "k", None, {}, b"", NOW) is not None
