"""The SDK's no-I/O core: request building for every endpoint, configuration, retry policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workyard.client import _endpoints as ep
from workyard.client._base import NOT_GIVEN, Call
from workyard.client._config import ClientConfig, normalize_base_url, resolve_token

ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"
SESS = "sess_0190a1b2c3d4e5f60718293a4b5c6d7f"
WORK = "work_0190a1b2c3d4e5f60718293a4b5c6d80"

W = f"/environments/{ENV}/work"

# (call, method, path, params, headers, body)
REQUESTS: list[tuple[Call[Any], str, str, list[tuple[str, str]], dict[str, str], Any]] = [
    (ep.create_environment("n"), "POST", "/environments", [], {}, {"name": "n"}),
    (
        ep.create_environment(
            "n", description="d", config={"type": "self_hosted"}, metadata={"a": "1"}
        ),
        "POST",
        "/environments",
        [],
        {},
        {
            "name": "n",
            "description": "d",
            "config": {"type": "self_hosted"},
            "metadata": {"a": "1"},
        },
    ),
    (ep.retrieve_environment(ENV), "GET", f"/environments/{ENV}", [], {}, None),
    (
        ep.update_environment(ENV, name="x", metadata={"a": "1", "gone": None}),
        "POST",
        f"/environments/{ENV}",
        [],
        {},
        {"name": "x", "metadata": {"a": "1", "gone": None}},
    ),
    (ep.list_environments(), "GET", "/environments", [], {}, None),
    (
        ep.list_environments(include_archived=True, limit=5, after_id=ENV),
        "GET",
        "/environments",
        [("include_archived", "true"), ("limit", "5"), ("after_id", ENV)],
        {},
        None,
    ),
    (ep.archive_environment(ENV), "POST", f"/environments/{ENV}/archive", [], {}, None),
    (ep.delete_environment(ENV), "DELETE", f"/environments/{ENV}", [], {}, None),
    (
        ep.create_session(ENV, title="t", metadata={"a": "b"}, agent="agent_1"),
        "POST",
        "/sessions",
        [],
        {},
        {"environment_id": ENV, "agent": "agent_1", "title": "t", "metadata": {"a": "b"}},
    ),
    (ep.retrieve_session(SESS), "GET", f"/sessions/{SESS}", [], {}, None),
    (ep.update_session(SESS), "POST", f"/sessions/{SESS}", [], {}, {}),
    (
        ep.update_session(SESS, title=None, metadata={"a": None}),
        "POST",
        f"/sessions/{SESS}",
        [],
        {},
        {"metadata": {"a": None}, "title": None},
    ),
    (
        ep.list_sessions(
            environment_id=ENV, statuses=["running", "idle"], order="asc", page="cur", limit=3
        ),
        "GET",
        "/sessions",
        [
            ("environment_id", ENV),
            ("statuses[]", "running"),
            ("statuses[]", "idle"),
            ("order", "asc"),
            ("limit", "3"),
            ("page", "cur"),
        ],
        {},
        None,
    ),
    (ep.archive_session(SESS), "POST", f"/sessions/{SESS}/archive", [], {}, None),
    (ep.delete_session(SESS), "DELETE", f"/sessions/{SESS}", [], {}, None),
    (ep.list_work(ENV), "GET", W, [], {}, None),
    (
        ep.list_work(ENV, state=["queued", "active"], before_id=WORK),
        "GET",
        W,
        [("state", "queued,active"), ("before_id", WORK)],
        {},
        None,
    ),
    (ep.list_work(ENV, state="stopped"), "GET", W, [("state", "stopped")], {}, None),
    (ep.retrieve_work(ENV, WORK), "GET", f"{W}/{WORK}", [], {}, None),
    (
        ep.update_work(ENV, WORK, {"k": "v", "gone": None}),
        "POST",
        f"{W}/{WORK}",
        [],
        {},
        {"metadata": {"k": "v", "gone": None}},
    ),
    (ep.poll_work(ENV), "GET", f"{W}/poll", [], {}, None),
    (
        ep.poll_work(ENV, block_ms=500, reclaim_older_than_ms=0, worker_id="w-1"),
        "GET",
        f"{W}/poll",
        [("block_ms", "500"), ("reclaim_older_than_ms", "0")],
        {"Worker-ID": "w-1"},
        None,
    ),
    (ep.ack_work(ENV, WORK), "POST", f"{W}/{WORK}/ack", [], {}, None),
    (
        ep.ack_work(ENV, WORK, worker_id="w-1"),
        "POST",
        f"{W}/{WORK}/ack",
        [],
        {"Worker-ID": "w-1"},
        None,
    ),
    (ep.heartbeat_work(ENV, WORK), "POST", f"{W}/{WORK}/heartbeat", [], {}, None),
    (
        ep.heartbeat_work(
            ENV, WORK, expected_last_heartbeat="NO_HEARTBEAT", desired_ttl_seconds=30
        ),
        "POST",
        f"{W}/{WORK}/heartbeat",
        [("expected_last_heartbeat", "NO_HEARTBEAT"), ("desired_ttl_seconds", "30")],
        {},
        None,
    ),
    (ep.stop_work(ENV, WORK), "POST", f"{W}/{WORK}/stop", [], {}, {"force": False}),
    (
        ep.stop_work(ENV, WORK, force=True),
        "POST",
        f"{W}/{WORK}/stop",
        [],
        {},
        {"force": True},
    ),
    (ep.work_stats(ENV), "GET", f"{W}/stats", [], {}, None),
]


@pytest.mark.parametrize(("call", "method", "path", "params", "headers", "body"), REQUESTS)
def test_request_building(
    call: Call[Any],
    method: str,
    path: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    body: Any,
) -> None:
    request = call.request
    assert (request.method, request.path) == (method, path)
    assert list(request.params) == params
    assert dict(request.headers) == headers
    assert request.body == body


def test_path_segments_are_percent_encoded() -> None:
    assert (
        ep.retrieve_work("env/../x", "a b?").request.path
        == "/environments/env%2F..%2Fx/work/a%20b%3F"
    )


def test_update_session_title_not_given_is_omitted() -> None:
    assert "title" not in (ep.update_session(SESS, title=NOT_GIVEN).request.body or {})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/cloud"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1/cloud"),
        ("https://api.qoder.com/api/v1/cloud", "https://api.qoder.com/api/v1/cloud"),
        ("https://api.qoder.com/api/v1/cloud/", "https://api.qoder.com/api/v1/cloud"),
        ("https://example.com/prefix", "https://example.com/prefix/api/v1/cloud"),
    ],
)
def test_normalize_base_url(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_normalize_base_url_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="http"):
        normalize_base_url("127.0.0.1:8080")


def test_token_resolution_order() -> None:
    env = {"WORKYARD_TOKEN": "pt-env", "QODER_ACCESS_TOKEN": "at-q", "QODER_PAT": "pt-qoder"}
    assert resolve_token("pt-arg", env) == "pt-arg"
    assert resolve_token(None, env) == "pt-env"
    assert resolve_token(None, {**env, "WORKYARD_TOKEN": ""}) == "at-q"
    assert resolve_token(None, {"QODER_PAT": "pt-qoder", "WORKYARD_TOKEN": ""}) == "pt-qoder"
    assert resolve_token(None, {}) is None


def test_config_resolve_and_headers() -> None:
    config = ClientConfig.resolve(environ={"WORKYARD_URL": "http://h:1", "QODER_PAT": "pt-q"})
    assert config.base_url == "http://h:1/api/v1/cloud"
    assert ClientConfig.resolve(environ={}).base_url == "http://127.0.0.1:8080/api/v1/cloud"
    poll = ep.poll_work(ENV, worker_id="w").request
    headers = config.headers(poll)
    assert headers["Authorization"] == "Bearer pt-q"
    assert headers["Worker-ID"] == "w"
    assert "Content-Type" not in headers
    assert config.content(poll) is None
    stop = ep.stop_work(ENV, WORK).request
    assert config.headers(stop)["Content-Type"] == "application/json"
    assert json.loads(config.content(stop) or b"") == {"force": False}
    assert config.url(stop) == f"http://h:1/api/v1/cloud{W}/{WORK}/stop"
    assert "Authorization" not in ClientConfig.resolve(environ={}).headers(poll)
