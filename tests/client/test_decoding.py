"""The SDK's no-I/O core: decoding answers (errors, objects, ``null`` polls, pages)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workyard import client
from workyard.client import Environment, HeartbeatResult, Page, QueueStats, Session, WorkItem
from workyard.client import _endpoints as ep
from workyard.client._base import decode_response, error_from_response, next_page_call

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

# Error decoding

STATUS_CLASSES = [  # as qca-sdk maps them
    (400, client.BadRequestError),
    (401, client.AuthenticationError),
    (403, client.PermissionDeniedError),
    (404, client.NotFoundError),
    (405, client.APIStatusError),
    (409, client.ConflictError),
    (412, client.APIStatusError),
    (413, client.RequestTooLargeError),
    (422, client.UnprocessableEntityError),
    (429, client.RateLimitError),
    (500, client.InternalServerError),
    (502, client.InternalServerError),
    (503, client.InternalServerError),
    (529, client.OverloadedError),
]


def _envelope(error_type: str, message: str, param: str | None = None) -> bytes:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if param is not None:
        error["param"] = param
    return json.dumps({"type": "error", "request_id": "req-body", "error": error}).encode()


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_error_envelope_maps_status_to_class(status: int, cls: type[client.APIStatusError]) -> None:
    body = _envelope("whatever_error", "limit must be a positive integer", "limit")
    with pytest.raises(client.APIError) as caught:
        decode_response(ep.list_environments(), status, {"x-request-id": "req-hdr"}, body)
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, client.APIStatusError)
    assert (error.status_code, error.type, error.param) == (status, "whatever_error", "limit")
    assert error.message == f"Error code: {status} - limit must be a positive integer"
    assert error.detail == "limit must be a positive integer"
    assert error.request_id == "req-hdr"  # the header first, as qca-sdk
    assert error.body == json.loads(body)
    assert (error.status, error.error_type) == (status, "whatever_error")  # the old names


def test_error_envelope_without_header_uses_the_envelope_request_id() -> None:
    body = _envelope("not_found_error", "Gone.")
    error = error_from_response(404, {}, body)
    assert isinstance(error, client.NotFoundError)
    assert (error.detail, error.param, error.request_id) == ("Gone.", None, "req-body")


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_non_envelope_error_body(status: int, cls: type[client.APIStatusError]) -> None:
    body = b"<html><body>\n  <h1>Bad Gateway</h1>\n</body></html>"
    error = error_from_response(status, {"x-request-id": "req-1"}, body)
    assert type(error) is cls
    assert error.status_code == status
    assert error.request_id == "req-1"
    assert error.message.startswith(f"Error code: {status} - ")
    assert "<h1>Bad Gateway</h1>" in error.message
    assert error.body == body.decode()
    assert (error.param, error.type) == (None, None)


def test_non_envelope_error_variants() -> None:
    detail = error_from_response(422, {}, b'{"detail": "nope"}')
    assert detail.body == {"detail": "nope"}
    assert "nope" in detail.message
    empty = error_from_response(502, {}, b"")
    assert empty.message == "Error code: 502 - "
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
def test_malformed_success_body_is_a_validation_error(content: bytes) -> None:
    with pytest.raises(client.APIResponseValidationError) as caught:
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
    with pytest.raises(client.APIResponseValidationError, match="did not advance"):
        next_page_call(following, _page(["env_b"], "cur-2"))
