"""``client.sessions.events`` and ``cancel`` against canned answers (``httpx.MockTransport``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from workyard.client import (
    APIConnectionError,
    APIError,
    AsyncClient,
    AuthenticationError,
    Client,
    NotFoundError,
    ReconnectPolicy,
    RetryPolicy,
    user_message,
)

SESS = "sess_0190a1b2c3d4e5f60718293a4b5c6d7e"
BASE = "http://server.test/api/v1/cloud"
NO_WAIT = RetryPolicy(max_retries=0)
NOW = "2026-07-01T08:00:00.000000Z"

Handler = Callable[[httpx.Request], httpx.Response]


def event(n: int, kind: str = "agent.message", text: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"evt_{n:04d}", "type": kind, "session_id": SESS}
    body["processed_at"] = NOW
    if kind.endswith("message"):
        body["content"] = [{"type": "text", "text": text or f"m{n}"}]
    return body


class Server:
    """Canned answers; records every request it receives."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def client(self) -> Client:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return Client(BASE, "pt-test", http_client=http, retry_policy=NO_WAIT)

    def async_client(self) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return AsyncClient(BASE, "pt-test", http_client=http, retry_policy=NO_WAIT)


def test_send_posts_the_events_and_decodes_the_created_ones() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url.path == f"/api/v1/cloud/sessions/{SESS}/events"
        sent = json.loads(request.content)["events"]
        return httpx.Response(
            200, json={"data": [{**event(i + 1, e["type"]), **e} for i, e in enumerate(sent)]}
        )

    server = Server(handler)
    with server.client() as client:
        created = client.sessions.events.send(
            SESS, [user_message("hello"), {"type": "user.interrupt"}]
        )
    assert [(e.id, e.type, e.text) for e in created] == [
        ("evt_0001", "user.message", "hello"),
        ("evt_0002", "user.interrupt", ""),
    ]
    assert json.loads(server.requests[0].content) == {
        "events": [
            {"type": "user.message", "content": [{"type": "text", "text": "hello"}]},
            {"type": "user.interrupt"},
        ]
    }


def test_list_sends_the_filters_the_official_sdk_uses() -> None:
    pages = {
        None: {"data": [event(1), event(2)], "has_more": True, "next_page": "p2"},
        "p2": {"data": [event(3)], "has_more": False, "next_page": None},
    }
    server = Server(lambda r: httpx.Response(200, json=pages[r.url.params.get("page")]))
    with server.client() as client:
        ids = [
            e.id
            for e in client.sessions.events.list_all(
                SESS,
                types=["agent.message", "user.message"],
                created_at_gte="2026-07-01T00:00:00Z",
                limit=2,
            )
        ]
        page = client.sessions.events.list(SESS, order="desc", after_id="evt_0001")
    assert ids == ["evt_0001", "evt_0002", "evt_0003"]
    first = server.requests[0].url.params
    assert first.get_list("types[]") == ["agent.message", "user.message"]
    assert first["created_at[gte]"] == "2026-07-01T00:00:00Z"
    assert server.requests[1].url.params["page"] == "p2"
    assert dict(server.requests[2].url.params) == {"order": "desc", "after_id": "evt_0001"}
    assert page.has_more is True


def test_cancel_decodes_202_and_200_alike() -> None:
    statuses = iter([202, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v1/cloud/sessions/{SESS}/cancel"
        body = {"id": SESS, "type": "session", "status": "canceling"}
        return httpx.Response(next(statuses), json=body)

    with Server(handler).client() as client:
        first = client.sessions.cancel(SESS)
        second = client.sessions.cancel(SESS)
    assert (first.id, first.status) == (SESS, "canceling")
    assert second.status == "canceling"


def test_event_shapes_are_decoded() -> None:
    tool_use = {**event(1, "agent.tool_use"), "name": "bash", "input": {"cmd": "ls"}}
    result = {**event(2, "agent.tool_result"), "tool_use_id": "evt_0001", "is_error": True}
    result["content"] = [{"type": "text", "text": "boom"}]
    error = {**event(3, "session.error"), "error": {"message": "exit 3"}}
    server = Server(
        lambda _: httpx.Response(200, json={"data": [tool_use, result, error], "has_more": False})
    )
    with server.client() as client:
        a, b, c = client.sessions.events.list(SESS).data
    assert (a.name, a.input) == ("bash", {"cmd": "ls"})
    assert (b.tool_use_id, b.is_error, b.text) == ("evt_0001", True, "boom")
    assert c.error_message == "exit 3"
    assert c.raw == error


def sse(*events: dict[str, Any]) -> bytes:
    """Events framed the way the server frames them (with a keep-alive comment between)."""
    frames = [
        f"id: {e['id']}\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n: keep-alive\n\n"
        for e in events
    ]
    return "".join(frames).encode()


class Dropping(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that sends ``chunks`` and then breaks the connection (or just ends)."""

    def __init__(self, *chunks: bytes, drop: bool = True) -> None:
        self.chunks = chunks
        self.drop = drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.drop:
            raise httpx.ReadError("connection reset by peer")


def streaming_server() -> Server:
    """First connection: 2 events then a half-sent frame and a reset; second (which must
    resume after evt_0002): 503; third: 1 event and a clean end; fourth: 404 (deleted)."""
    cut = b'id: evt_0003\nevent: agent.message\ndata: {"id": "evt_0003", "ty'
    answers: Iterator[Callable[[], httpx.Response]] = iter(
        [
            lambda: httpx.Response(200, stream=Dropping(sse(event(1)), sse(event(2)) + cut)),
            lambda: httpx.Response(503, json={"error": {"type": "overloaded_error"}}),
            lambda: httpx.Response(200, stream=Dropping(sse(event(3)), drop=False)),
            lambda: httpx.Response(404, json={"error": {"type": "not_found_error"}}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v1/cloud/sessions/{SESS}/events/stream"
        assert request.headers["accept"] == "text/event-stream"
        return next(answers)()

    return Server(handler)


def resume_headers(server: Server) -> list[str | None]:
    return [r.headers.get("last-event-id") for r in server.requests]


FAST = ReconnectPolicy(initial=0.0, cap=0.0)


def test_the_stream_resumes_after_drops_and_ends_on_404() -> None:
    server = streaming_server()
    reconnects: list[str] = []
    with server.client() as client:
        events = list(
            client.sessions.events.stream(
                SESS, reconnect=FAST, on_reconnect=lambda reason, _: reconnects.append(reason)
            )
        )
    assert [e.id for e in events] == ["evt_0001", "evt_0002", "evt_0003"]
    assert [e.text for e in events] == ["m1", "m2", "m3"]
    assert resume_headers(server) == [None, "evt_0002", "evt_0002", "evt_0003"]
    assert reconnects[0].startswith("connection lost")
    assert reconnects[1:] == ["HTTP 503", "the server closed the stream"]


async def test_the_async_stream_resumes_after_drops_and_ends_on_404() -> None:
    server = streaming_server()
    async with server.async_client() as client:
        ids = [e.id async for e in client.sessions.events.stream(SESS, reconnect=FAST)]
    assert ids == ["evt_0001", "evt_0002", "evt_0003"]
    assert resume_headers(server) == [None, "evt_0002", "evt_0002", "evt_0003"]


def test_extra_headers_and_query_ride_on_every_connection() -> None:
    server = streaming_server()
    with server.client() as client:
        stream = client.sessions.events.stream(
            SESS,
            reconnect=ReconnectPolicy(initial=0.0, cap=0.0, idle_timeout=12.0),
            extra_headers={"X-Trace": "t1"},
            extra_query={"event_deltas[]": ["agent.message"]},
        )
        assert len(list(stream)) == 3
    assert [r.headers["x-trace"] for r in server.requests] == ["t1"] * 4
    assert {r.url.params["event_deltas[]"] for r in server.requests} == {"agent.message"}
    timeout = server.requests[0].extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (5.0, 12.0)


def test_a_given_last_event_id_is_sent_on_the_first_connection() -> None:
    server = Server(lambda _: httpx.Response(200, stream=Dropping(sse(event(8)), drop=False)))
    with server.client() as client:
        stream = client.sessions.events.stream(SESS, "evt_0007", reconnect=FAST)
        assert next(stream).id == "evt_0008"
        stream.close()
    assert resume_headers(server) == ["evt_0007"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, NotFoundError), (401, AuthenticationError)],
)
def test_a_refused_first_connection_raises(status: int, error: type[Exception]) -> None:
    server = Server(lambda _: httpx.Response(status, json={"error": {"message": "no"}}))
    with server.client() as client, pytest.raises(error):
        next(client.sessions.events.stream(SESS, reconnect=FAST))
    assert len(server.requests) == 1


async def test_max_attempts_gives_up_with_a_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    server = Server(refuse)
    policy = ReconnectPolicy(initial=0.0, cap=0.0, max_attempts=2)
    async with server.async_client() as client:
        with pytest.raises(APIConnectionError, match="refused"):
            async for _ in client.sessions.events.stream(SESS, reconnect=policy):
                pass
    assert len(server.requests) == 3


def test_a_malformed_frame_is_an_api_error() -> None:
    body = b"id: evt_1\nevent: agent.message\ndata: {oops\n\n"
    server = Server(lambda _: httpx.Response(200, stream=Dropping(body, drop=False)))
    with server.client() as client, pytest.raises(APIError, match="Unexpected event"):
        next(client.sessions.events.stream(SESS, reconnect=FAST))
