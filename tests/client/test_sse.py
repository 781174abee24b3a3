"""The SSE line parser and the reconnection bookkeeping (no I/O)."""

from __future__ import annotations

import json

import pytest

from workyard.client._events import event_from_frame
from workyard.client._sse import (
    ReconnectPolicy,
    ServerSentEvent,
    SSEParser,
    StreamCursor,
    is_retryable_status,
    stream_headers,
)


def feed_all(parser: SSEParser, text: str) -> list[ServerSentEvent]:
    """Split ``text`` like ``httpx``'s ``iter_lines`` (CRLF, LF or CR) and feed every line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [event for line in lines if (event := parser.feed(line)) is not None]


def test_an_event_is_dispatched_at_the_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed("id: evt_1") is None
    assert parser.feed("event: user.message") is None
    assert parser.feed('data: {"a": 1}') is None
    assert parser.feed("") == ServerSentEvent('{"a": 1}', "user.message", "evt_1")


def test_multi_line_data_is_joined_with_newlines() -> None:
    events = feed_all(SSEParser(), "data: first\ndata:second\ndata:  third\ndata\n\n")
    assert [e.data for e in events] == ["first\nsecond\n third\n"]


def test_comments_are_ignored_and_counted() -> None:
    parser = SSEParser()
    events = feed_all(parser, ": keep-alive\n\n:\ndata: x\n: between\n\n")
    assert [e.data for e in events] == ["x"]
    assert parser.comments == 3


def test_crlf_and_cr_line_endings_and_a_bom() -> None:
    text = "\ufeffid: a\r\ndata: 1\r\n\r\nid: b\rdata: 2\r\r"
    assert [(e.id, e.data) for e in feed_all(SSEParser(), text)] == [("a", "1"), ("b", "2")]


def test_the_id_persists_and_event_type_resets() -> None:
    text = "id: evt_1\nevent: agent.message\ndata: 1\n\ndata: 2\n\n"
    events = feed_all(SSEParser(), text)
    assert [(e.id, e.event) for e in events] == [("evt_1", "agent.message"), ("evt_1", "message")]


def test_an_id_with_nul_is_ignored_and_an_empty_id_clears() -> None:
    events = feed_all(SSEParser(), "id: good\n\nid: b\0ad\ndata: 1\n\nid\ndata: 2\n\n")
    assert [e.id for e in events] == ["good", ""]


def test_a_frame_without_data_is_not_dispatched_but_its_id_counts() -> None:
    parser = SSEParser()
    assert feed_all(parser, "id: evt_9\nevent: x\n\n") == []
    assert parser.last_event_id == "evt_9"
    assert feed_all(parser, "data: y\n\n") == [ServerSentEvent("y", "message", "evt_9")]


def test_retry_and_unknown_fields() -> None:
    parser = SSEParser()
    events = feed_all(parser, "retry: 1500\nretry: soon\nfoo: bar\ndata: z\n\n")
    assert events == [ServerSentEvent("z", "message", None, 1500)]


def test_a_partial_frame_is_never_delivered() -> None:
    parser = SSEParser()
    assert feed_all(parser, "id: evt_1\ndata: a\n\nid: evt_2\ndata: b") == [
        ServerSentEvent("a", "message", "evt_1")
    ]


def test_the_cursor_resumes_from_the_last_complete_event_only() -> None:
    cursor = StreamCursor(ReconnectPolicy(), last_event_id="evt_0")
    parser = cursor.connect()
    assert parser.last_event_id == "evt_0"
    for event in feed_all(parser, "id: evt_1\ndata: a\n\nid: evt_2\ndata: b"):
        cursor.delivered(event)
    assert cursor.last_event_id == "evt_1"  # evt_2's frame was cut off
    assert cursor.connections == 1


def test_backoff_grows_with_failures_and_resets_after_an_event() -> None:
    policy = ReconnectPolicy(initial=1.0, cap=5.0)
    assert policy.delay(0, rng=lambda: 0.0) == 0.5
    assert policy.delay(0, rng=lambda: 0.999) == pytest.approx(0.9995)
    assert policy.delay(2, rng=lambda: 0.0) == 2.0
    assert policy.delay(10, rng=lambda: 0.999) <= 5.0
    cursor = StreamCursor(policy)
    delays = [cursor.next_delay() for _ in range(4)]
    ceilings = [1.0, 2.0, 4.0, 5.0]
    assert all(d is not None and c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert cursor.attempt == 4
    cursor.delivered(ServerSentEvent("x", id="evt_5"))
    assert cursor.attempt == 0
    assert cursor.last_event_id == "evt_5"


def test_max_attempts_gives_up() -> None:
    cursor = StreamCursor(ReconnectPolicy(initial=0.0, max_attempts=2))
    assert cursor.next_delay() == 0.0
    assert cursor.next_delay() == 0.0
    assert cursor.next_delay() is None


def test_the_servers_retry_field_sets_the_base_delay() -> None:
    cursor = StreamCursor(ReconnectPolicy(initial=10.0, cap=60.0))
    feed_all(cursor.connect(), "retry: 200\n\n")
    delay = cursor.next_delay()
    assert delay is not None
    assert 0.1 <= delay <= 0.2
    cursor.connect()  # a new connection keeps the server's hint
    later = cursor.next_delay()
    assert later is not None
    assert 0.2 <= later <= 0.4


def test_headers_and_retryable_statuses() -> None:
    assert dict(stream_headers(None)) == {
        "Accept": "text/event-stream",
        "Cache-Control": "no-cache",
    }
    assert dict(stream_headers("evt_1"))["Last-Event-ID"] == "evt_1"
    assert [s for s in (200, 400, 401, 404, 408, 429, 500, 502, 503) if is_retryable_status(s)] == [
        408,
        429,
        500,
        502,
        503,
    ]


def test_a_frame_becomes_a_typed_event() -> None:
    frame = ServerSentEvent(
        '{"session_id": "sess_1", "processed_at": "2026-07-01T08:00:00Z", "content": "hi"}',
        "user.message",
        "evt_7",
    )
    event = event_from_frame(frame)
    assert event is not None
    assert (event.id, event.type, event.session_id, event.text) == (
        "evt_7",
        "user.message",
        "sess_1",
        "hi",
    )
    assert event_from_frame(ServerSentEvent("{}", "ping")) is None
    with pytest.raises(json.JSONDecodeError):
        event_from_frame(ServerSentEvent("not json", "agent.message", "evt_8"))
