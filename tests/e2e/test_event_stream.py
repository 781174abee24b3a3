"""spec/sessions.md "Reading": ``GET /sessions/{id}/events/stream`` on a real server (SQLite).

History first, then live events, in id order; ``Last-Event-ID`` resumes with no gap and no
duplicate, also across a server restart; keep-alive comments; the stream ends with its session.
A slow client is in ``test_event_stream_slow_client.py``, replicas on PostgreSQL in
``test_event_stream_replicas.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.sse_support import (
    KEEPALIVE,
    Frame,
    Stream,
    api_client,
    append,
    listed,
    new_session,
    open_stream,
    port_of,
    start,
)

# Longer than the client's 10 s read timeout: a live event can only arrive because its append
# woke the stream, never through a periodic re-read at a keep-alive tick.
NO_KEEPALIVE = 60.0


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that sends no keep-alive within a test's read timeout."""
    server = start(tmp_path / "data", NO_KEEPALIVE, "--manual-clock")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chatty(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that sends a keep-alive every half second."""
    server = start(tmp_path / "data", 0.5, "--manual-clock")
    try:
        yield server
    finally:
        server.stop()


def ids(frames: list[Frame]) -> list[str]:
    return [f.id for f in frames if f.id is not None]


def assert_frames_are(frames: list[Frame], events: list[dict[str, Any]]) -> None:
    """The frames carry exactly these events (the same JSON as the list endpoint), in order."""
    assert [(f.id, f.event, f.data) for f in frames] == [(e["id"], e["type"], e) for e in events]


def next_is_keepalive(stream: Stream) -> None:
    """Nothing but a keep-alive follows (no duplicate, no stray event)."""
    frame = stream.next()
    assert frame is not None and frame.comment == KEEPALIVE, frame


def test_history_then_live_events_in_order(quiet: ServerProcess) -> None:
    with api_client(quiet) as http:
        session = new_session(http)
        sid = session["id"]
        history = append(http, sid, "h0", "h1", "h2")
        history += append(http, sid, "h3")
        with open_stream(http, sid) as stream:
            assert stream.response.headers["cache-control"] == "no-cache"
            assert_frames_are(stream.events(4), history)
            live = append(http, sid, "l0")
            assert_frames_are(stream.events(1), live)
            more = append(http, sid, "l1", "l2", "l3")
            more += append(http, sid, "l4")
            assert_frames_are(stream.events(4), more)
        assert listed(http, sid) == history + live + more


def test_history_longer_than_one_batch(quiet: ServerProcess) -> None:
    with api_client(quiet) as http:
        sid = new_session(http)["id"]
        history: list[dict[str, Any]] = []
        for n in range(3):
            history += append(http, sid, *(f"b{n}-{k}" for k in range(100)))
        history += append(http, sid, "last")
        with open_stream(http, sid) as stream:
            frames = stream.events(301)
            assert ids(frames) == [e["id"] for e in history]
            live = append(http, sid, "live")
            assert_frames_are(stream.events(1), live)


def test_every_event_type_is_framed_with_its_type(quiet: ServerProcess) -> None:
    with api_client(quiet) as http:
        sid = new_session(http)["id"]
        sent = [
            {"type": "user.message", "content": "multi\nline\r\ntext: with data: inside"},
            {"type": "user.interrupt"},
            {"type": "agent.tool_use", "name": "bash", "input": {"cmd": "echo\n\n"}},
            {"type": "agent.tool_result", "tool_use_id": "t", "content": "ok", "is_error": True},
            {"type": "session.error", "error": {"message": "boom"}},
            {"type": "system.message", "content": "ünïcødé \U0001f680"},
        ]
        response = http.post(f"/sessions/{sid}/events", json={"events": sent})
        assert response.status_code == 200, response.text
        with open_stream(http, sid) as stream:
            assert_frames_are(stream.events(len(sent)), listed(http, sid))


def test_last_event_id_resumes_without_gap_or_duplicate(chatty: ServerProcess) -> None:
    with api_client(chatty) as http:
        sid = new_session(http)["id"]
        first = append(http, sid, *(f"e{n}" for n in range(6)))
        with open_stream(http, sid) as stream:
            seen = stream.events(3)
        assert_frames_are(seen, first[:3])
        later = append(http, sid, "e6", "e7")
        with open_stream(http, sid, last_event_id=seen[-1].id) as stream:
            resumed = stream.events(5)
            assert_frames_are(resumed, first[3:] + later)
            next_is_keepalive(stream)
            live = append(http, sid, "e8")
            assert_frames_are(stream.events(1), live)
        assert [*ids(seen + resumed), live[0]["id"]] == [e["id"] for e in listed(http, sid)]
        # Resuming after the newest event gives only what comes next.
        with open_stream(http, sid, last_event_id=live[0]["id"]) as stream:
            next_is_keepalive(stream)
            again = append(http, sid, "e9")
            assert_frames_are(stream.events(1), again)


def test_resume_after_the_server_restarts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start(data, 0.5, "--manual-clock")
    try:
        with api_client(server) as http:
            sid = new_session(http)["id"]
            first = append(http, sid, "a0", "a1", "a2")
            received: list[Frame] = []
            with open_stream(http, sid) as stream:
                received += stream.events(3)
                live = append(http, sid, "a3", "a4")
                received += stream.events(2)
                server.stop()  # the server goes away under an open stream
                with contextlib.suppress(httpx.TransportError):
                    while (frame := stream.next()) is not None:
                        assert frame.comment == KEEPALIVE, frame
        assert_frames_are(received, first + live)
        server = start(data, 0.5, "--manual-clock", port=port_of(server))
        with api_client(server) as http:
            after = append(http, sid, "b0", "b1")
            with open_stream(http, sid, last_event_id=received[-1].id) as stream:
                resumed = stream.events(2)
                next_is_keepalive(stream)
                more = append(http, sid, "b2")
                resumed += stream.events(1)
            assert_frames_are(resumed, after + more)
            assert ids(received + resumed) == [e["id"] for e in listed(http, sid)]
    finally:
        server.stop()


def test_keepalive_comments_arrive_while_idle(chatty: ServerProcess) -> None:
    with api_client(chatty) as http:
        sid = new_session(http)["id"]
        first = append(http, sid, "x")
        with open_stream(http, sid) as stream:
            assert_frames_are(stream.events(1), first)
            for _ in range(3):
                next_is_keepalive(stream)
            live = append(http, sid, "y")
            frame = stream.next()
            while frame is not None and frame.comment == KEEPALIVE:
                frame = stream.next()
            assert frame is not None
            assert_frames_are([frame], live)
            next_is_keepalive(stream)


def test_an_empty_session_streams_keepalives_then_its_first_event(chatty: ServerProcess) -> None:
    with api_client(chatty) as http:
        sid = new_session(http)["id"]
        with open_stream(http, sid) as stream:
            next_is_keepalive(stream)
            created = append(http, sid, "first")
            assert_frames_are(stream.events(1), created)


def test_the_stream_ends_when_the_session_is_deleted(chatty: ServerProcess) -> None:
    with api_client(chatty) as http:
        sid = new_session(http)["id"]
        first = append(http, sid, "x", "y")
        with open_stream(http, sid) as stream:
            assert_frames_are(stream.events(2), first)
            assert http.delete(f"/sessions/{sid}").status_code == 200
            rest: list[Frame] = []
            while (frame := stream.next()) is not None:
                rest.append(frame)
            assert all(f.comment == KEEPALIVE for f in rest[:-1]), rest
            # the last frame says why the stream ends, without an id (it is not part of the log)
            assert rest[-1].event == "session.deleted", rest
            assert rest[-1].id is None
        response = http.get(f"/sessions/{sid}/events/stream")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found_error"


def test_streams_of_other_sessions_are_not_disturbed(quiet: ServerProcess) -> None:
    with api_client(quiet) as http:
        watched, other = new_session(http)["id"], new_session(http)["id"]
        with open_stream(http, watched) as stream:
            append(http, other, "not for you")
            assert http.delete(f"/sessions/{other}").status_code == 200
            mine = append(http, watched, "for you")
            assert_frames_are(stream.events(1), mine)
