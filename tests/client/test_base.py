"""The SDK's no-I/O core: request building, configuration, retry policy, response decoding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workyard import errors
from workyard.client import Environment, HeartbeatResult, Page, QueueStats, Session, WorkItem
from workyard.client import _endpoints as ep
from workyard.client._base import (
    NOT_GIVEN,
    Call,
    ClientConfig,
    RequestSpec,
    RetryPolicy,
    decode_response,
    error_from_response,
    next_page_call,
    normalize_base_url,
    resolve_token,
)

ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"
SESS = "sess_0190a1b2c3d4e5f60718293a4b5c6d7f"
WORK = "work_0190a1b2c3d4e5f60718293a4b5c6d80"
TS = "2026-07-01T08:16:06.120394Z"

WORK_JSON: dict[str, Any] = {
    "id": WORK,
    "type": "work",
    "environment_id": ENV,
    "data": {"type": "session", "id": SESS},
    "state": "queued",
    "created_at": TS,
    "acknowledged_at": None,
    "started_at": None,
    "latest_heartbeat_at": None,
    "stop_requested_at": None,
    "stopped_at": None,
    "metadata": {"k": "v"},
    "secret": None,
}
ENV_JSON: dict[str, Any] = {
    "id": ENV,
    "type": "environment",
    "name": "laptops",
    "description": "",
    "config": {"type": "self_hosted"},
    "metadata": {},
    "archived_at": None,
    "created_at": TS,
    "updated_at": TS,
}

W = f"/environments/{ENV}/work"

# (call, method, path, params, headers, body, idempotent)
REQUESTS: list[tuple[Call[Any], str, str, list[tuple[str, str]], dict[str, str], Any, bool]] = [
    (ep.create_environment("n"), "POST", "/environments", [], {}, {"name": "n"}, False),
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
        False,
    ),
    (ep.retrieve_environment(ENV), "GET", f"/environments/{ENV}", [], {}, None, True),
    (
        ep.update_environment(ENV, name="x", metadata={"a": "1", "gone": None}),
        "POST",
        f"/environments/{ENV}",
        [],
        {},
        {"name": "x", "metadata": {"a": "1", "gone": None}},
        True,
    ),
    (ep.list_environments(), "GET", "/environments", [], {}, None, True),
    (
        ep.list_environments(include_archived=True, limit=5, after_id=ENV),
        "GET",
        "/environments",
        [("include_archived", "true"), ("limit", "5"), ("after_id", ENV)],
        {},
        None,
        True,
    ),
    (ep.archive_environment(ENV), "POST", f"/environments/{ENV}/archive", [], {}, None, True),
    (ep.delete_environment(ENV), "DELETE", f"/environments/{ENV}", [], {}, None, False),
    (
        ep.create_session(ENV, title="t", metadata={"a": "b"}, agent="agent_1"),
        "POST",
        "/sessions",
        [],
        {},
        {"environment_id": ENV, "agent": "agent_1", "title": "t", "metadata": {"a": "b"}},
        False,
    ),
    (ep.retrieve_session(SESS), "GET", f"/sessions/{SESS}", [], {}, None, True),
    (ep.update_session(SESS), "POST", f"/sessions/{SESS}", [], {}, {}, True),
    (
        ep.update_session(SESS, title=None, metadata={"a": None}),
        "POST",
        f"/sessions/{SESS}",
        [],
        {},
        {"metadata": {"a": None}, "title": None},
        True,
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
        True,
    ),
    (ep.archive_session(SESS), "POST", f"/sessions/{SESS}/archive", [], {}, None, True),
    (ep.delete_session(SESS), "DELETE", f"/sessions/{SESS}", [], {}, None, False),
    (ep.list_work(ENV), "GET", W, [], {}, None, True),
    (
        ep.list_work(ENV, state=["queued", "active"], before_id=WORK),
        "GET",
        W,
        [("state", "queued,active"), ("before_id", WORK)],
        {},
        None,
        True,
    ),
    (ep.list_work(ENV, state="stopped"), "GET", W, [("state", "stopped")], {}, None, True),
    (ep.retrieve_work(ENV, WORK), "GET", f"{W}/{WORK}", [], {}, None, True),
    (
        ep.update_work(ENV, WORK, {"k": "v", "gone": None}),
        "POST",
        f"{W}/{WORK}",
        [],
        {},
        {"metadata": {"k": "v", "gone": None}},
        True,
    ),
    (ep.poll_work(ENV), "GET", f"{W}/poll", [], {}, None, True),
    (
        ep.poll_work(ENV, block_ms=500, reclaim_older_than_ms=0, worker_id="w-1"),
        "GET",
        f"{W}/poll",
        [("block_ms", "500"), ("reclaim_older_than_ms", "0")],
        {"Worker-ID": "w-1"},
        None,
        True,
    ),
    (ep.ack_work(ENV, WORK), "POST", f"{W}/{WORK}/ack", [], {}, None, False),
    (
        ep.ack_work(ENV, WORK, worker_id="w-1"),
        "POST",
        f"{W}/{WORK}/ack",
        [],
        {"Worker-ID": "w-1"},
        None,
        False,
    ),
    (ep.heartbeat_work(ENV, WORK), "POST", f"{W}/{WORK}/heartbeat", [], {}, None, True),
    (
        ep.heartbeat_work(
            ENV, WORK, expected_last_heartbeat="NO_HEARTBEAT", desired_ttl_seconds=30
        ),
        "POST",
        f"{W}/{WORK}/heartbeat",
        [("expected_last_heartbeat", "NO_HEARTBEAT"), ("desired_ttl_seconds", "30")],
        {},
        None,
        True,
    ),
    (ep.stop_work(ENV, WORK), "POST", f"{W}/{WORK}/stop", [], {}, {"force": False}, True),
    (
        ep.stop_work(ENV, WORK, force=True),
        "POST",
        f"{W}/{WORK}/stop",
        [],
        {},
        {"force": True},
        True,
    ),
    (ep.work_stats(ENV), "GET", f"{W}/stats", [], {}, None, True),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "params", "headers", "body", "idempotent"), REQUESTS
)
def test_request_building(
    call: Call[Any],
    method: str,
    path: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    body: Any,
    idempotent: bool,
) -> None:
    request = call.request
    assert (request.method, request.path) == (method, path)
    assert list(request.params) == params
    assert dict(request.headers) == headers
    assert request.body == body
    assert request.idempotent is idempotent


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
    env = {"WORKYARD_TOKEN": "pt-env", "QODER_PAT": "pt-qoder"}
    assert resolve_token("pt-arg", env) == "pt-arg"
    assert resolve_token(None, env) == "pt-env"
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


# Error decoding

STATUS_CLASSES = [
    (400, errors.InvalidRequestError),
    (401, errors.AuthenticationError),
    (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError),
    (405, errors.MethodNotAllowedError),
    (409, errors.ConflictError),
    (412, errors.PreconditionFailedError),
    (413, errors.InvalidRequestError),
    (429, errors.RateLimitError),
    (500, errors.APIError),
    (502, errors.APIError),
    (503, errors.OverloadedError),
]


def _envelope(error_type: str, message: str, param: str | None = None) -> bytes:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if param is not None:
        error["param"] = param
    return json.dumps({"type": "error", "request_id": "req-body", "error": error}).encode()


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_error_envelope_maps_status_to_class(status: int, cls: type[errors.WorkyardError]) -> None:
    body = _envelope("whatever_error", "limit must be a positive integer", "limit")
    with pytest.raises(errors.WorkyardError) as caught:
        decode_response(ep.list_environments(), status, {"x-request-id": "req-hdr"}, body)
    error = caught.value
    assert type(error) is cls
    assert (error.status, error.param) == (status, "limit")
    assert error.message == "limit must be a positive integer"
    assert error.request_id == "req-body"


def test_error_envelope_without_param_or_request_id_uses_header() -> None:
    body = json.dumps({"type": "error", "error": {"type": "not_found_error", "message": "Gone."}})
    error = error_from_response(404, {"X-Request-ID": "req-hdr"}, body.encode())
    assert isinstance(error, errors.NotFoundError)
    assert (error.message, error.param, error.request_id) == ("Gone.", None, "req-hdr")


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_non_envelope_error_body(status: int, cls: type[errors.WorkyardError]) -> None:
    body = b"<html><body>\n  <h1>Bad Gateway</h1>\n</body></html>"
    error = error_from_response(status, {"x-request-id": "req-1"}, body)
    assert type(error) is cls
    assert error.status == status
    assert error.request_id == "req-1"
    assert f"HTTP {status}" in error.message
    assert "<h1>Bad Gateway</h1>" in error.message
    assert error.param is None


def test_non_envelope_error_variants() -> None:
    assert error_from_response(422, {}, b'{"detail": "nope"}').message == "nope"
    empty = error_from_response(502, {}, b"")
    assert empty.message == f"{errors.APIError.default_message} (HTTP 502)"
    assert empty.request_id is None


# Success decoding


def test_decode_object_ignores_unknown_fields_and_keeps_raw() -> None:
    payload = {**ENV_JSON, "future_field": [1, 2]}
    env = decode_response(ep.retrieve_environment(ENV), 200, {}, json.dumps(payload).encode())
    assert isinstance(env, Environment)
    assert (env.id, env.name, env.environment_type, env.archived_at) == (
        ENV,
        "laptops",
        "self_hosted",
        None,
    )
    assert env.created_at == TS
    assert env.raw == payload


def test_decode_work_item_and_session_id() -> None:
    item = decode_response(ep.retrieve_work(ENV, WORK), 200, {}, json.dumps(WORK_JSON).encode())
    assert isinstance(item, WorkItem)
    assert (item.state, item.session_id, item.metadata) == ("queued", SESS, {"k": "v"})


@pytest.mark.parametrize("content", [b"null", b"", b"  \n"])
def test_poll_null_decodes_to_none(content: bytes) -> None:
    assert decode_response(ep.poll_work(ENV), 200, {}, content) is None


def test_poll_item_decodes_to_work_item() -> None:
    item = decode_response(ep.poll_work(ENV), 200, {}, json.dumps(WORK_JSON).encode())
    assert isinstance(item, WorkItem)
    assert item.id == WORK


def test_decode_heartbeat_stats_deleted_session() -> None:
    heartbeat = decode_response(
        ep.heartbeat_work(ENV, WORK),
        200,
        {},
        b'{"type":"work_heartbeat","last_heartbeat":"%s","lease_extended":true,'
        b'"state":"stopping","ttl_seconds":60}' % TS.encode(),
    )
    assert heartbeat == HeartbeatResult(TS, True, "stopping", 60)
    stats = decode_response(
        ep.work_stats(ENV),
        200,
        {},
        b'{"type":"work_queue_stats","depth":3,"pending":1,"oldest_queued_at":null,'
        b'"workers_polling":2}',
    )
    assert stats == QueueStats(3, 1, None, 2)
    deleted = decode_response(
        ep.delete_session(SESS), 200, {}, b'{"id":"%s","type":"session_deleted"}' % SESS.encode()
    )
    assert (deleted.id, deleted.type) == (SESS, "session_deleted")
    session = decode_response(
        ep.retrieve_session(SESS),
        200,
        {},
        json.dumps(
            {"id": SESS, "environment_id": ENV, "status": "running", "title": None}
        ).encode(),
    )
    assert isinstance(session, Session)
    assert (session.status, session.title, session.metadata) == ("running", None, {})


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[1, 2]",
        b"null",
        b'{"name": "no id"}',
        b'{"id": 5}',
        b'{"id": "env_x", "metadata": {"k": 1}}',
    ],
)
def test_malformed_success_body_is_api_error(content: bytes) -> None:
    with pytest.raises(errors.APIError) as caught:
        decode_response(ep.retrieve_environment(ENV), 200, {"x-request-id": "r"}, content)
    assert caught.value.request_id == "r"


def _page(ids: list[str], next_page: str | None) -> Page[Environment]:
    body = {
        "data": [{**ENV_JSON, "id": i} for i in ids],
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "has_more": next_page is not None,
        "next_page": next_page,
    }
    return decode_response(ep.list_environments(), 200, {}, json.dumps(body).encode())


def test_page_decoding() -> None:
    page = _page(["env_a", "env_b"], "cur-2")
    assert [e.id for e in page.data] == ["env_a", "env_b"]
    assert (page.first_id, page.last_id, page.has_more, page.next_page) == (
        "env_a",
        "env_b",
        True,
        "cur-2",
    )


def test_next_page_call_keeps_filters_and_replaces_cursors() -> None:
    first = ep.list_environments(include_archived=True, limit=2, after_id="env_0")
    following = next_page_call(first, _page(["env_a"], "cur-2"))
    assert following is not None
    assert list(following.request.params) == [
        ("include_archived", "true"),
        ("limit", "2"),
        ("page", "cur-2"),
    ]
    assert next_page_call(following, _page(["env_b"], None)) is None
    with pytest.raises(errors.APIError, match="did not advance"):
        next_page_call(following, _page(["env_b"], "cur-2"))


# Retry policy

GET = RequestSpec("GET", "/x", idempotent=True)
CREATE = RequestSpec("POST", "/x", body={})


@pytest.mark.parametrize("status", [None, 429, 500, 502, 503])
def test_retry_policy_retries_idempotent_transient_failures(status: int | None) -> None:
    policy = RetryPolicy(max_retries=2, initial_delay=1.0, max_delay=10.0, jitter=0.25)
    first = policy.delay(GET, 0, status)
    second = policy.delay(GET, 1, status)
    assert first is not None
    assert second is not None
    assert 1.0 <= first <= 1.25
    assert 2.0 <= second <= 2.5
    assert policy.delay(GET, 2, status) is None
    assert policy.delay(CREATE, 0, status) is None


@pytest.mark.parametrize("status", [200, 400, 401, 404, 409, 412])
def test_retry_policy_never_retries_client_errors(status: int) -> None:
    assert RetryPolicy().delay(GET, 0, status) is None


def test_retry_policy_honours_retry_after_capped() -> None:
    policy = RetryPolicy(max_delay=5.0)
    assert policy.delay(GET, 0, 503, "2") == 2.0
    assert policy.delay(GET, 0, 503, "120") == 5.0
    delay = policy.delay(GET, 0, 503, "Wed, 21 Oct 2015 07:28:00 GMT")
    assert delay is not None
    assert delay <= 0.5 * 1.25


def test_retry_policy_delay_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=3.0, jitter=0.0)
    assert policy.delay(GET, 6, None) == 3.0
