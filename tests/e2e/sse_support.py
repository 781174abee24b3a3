"""Reading a session's Server-Sent Events stream from a real server, frame by frame.

The parser is deliberately strict about the server's wire form (spec/sessions.md, "Reading"): an
event is exactly the lines ``id: <evt id>``, ``event: <type>``, ``data: <event JSON>`` and a blank
line; a comment block is one ``: keep-alive`` line and a blank line.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import ServerProcess, start_server

KEEPALIVE = ": keep-alive"


@dataclass(frozen=True)
class Frame:
    """One block of the stream: an event (``id`` set) or a comment (``comment`` set)."""

    id: str | None = None
    event: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None


class Stream:
    """An open ``GET /sessions/{id}/events/stream``; ``next()`` blocks for the next frame."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> Frame | None:
        """The next frame, or ``None`` when the server ended the stream."""
        block: list[str] = []
        for line in self._lines:
            if line == "":
                if block:
                    return _frame(block)
                continue
            block.append(line)
        assert not block, f"the stream ended inside a frame: {block}"
        return None

    def events(self, count: int) -> list[Frame]:
        """The next ``count`` events, skipping keep-alive comments."""
        found: list[Frame] = []
        while len(found) < count:
            frame = self.next()
            assert frame is not None, f"the stream ended after {len(found)} of {count} events"
            if frame.id is not None:
                found.append(frame)
        return found


def _frame(block: list[str]) -> Frame:
    if block[0].startswith(":"):
        assert block == [KEEPALIVE], block
        return Frame(comment=block[0])
    if block[0] == "event: session.deleted":  # the terminal frame: no id, not part of the log
        assert len(block) == 2 and block[1].startswith("data: "), block
        return Frame(None, "session.deleted", json.loads(block[1][len("data: ") :]))
    assert len(block) == 3, block
    id_line, event_line, data_line = block
    assert id_line.startswith("id: ") and event_line.startswith("event: "), block
    assert data_line.startswith("data: "), block
    data = json.loads(data_line[len("data: ") :])
    frame = Frame(id_line[4:], event_line[7:], data)
    assert data["id"] == frame.id and data["type"] == frame.event, block
    return frame


def api_client(server: ServerProcess, timeout: float = 10) -> httpx.Client:
    headers = {"authorization": f"Bearer {server.token}"}
    return httpx.Client(base_url=server.api, headers=headers, timeout=timeout)


@contextmanager
def open_stream(
    http: httpx.Client, session_id: str, last_event_id: str | None = None
) -> Iterator[Stream]:
    headers = {"last-event-id": last_event_id} if last_event_id else {}
    with http.stream("GET", f"/sessions/{session_id}/events/stream", headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


def new_session(http: httpx.Client) -> dict[str, Any]:
    env = http.post("/environments", json={"name": "sse", "config": {"type": "self_hosted"}})
    env.raise_for_status()
    created = http.post("/sessions", json={"environment_id": env.json()["id"]})
    created.raise_for_status()
    session: dict[str, Any] = created.json()
    return session


def append(http: httpx.Client, session_id: str, *texts: str) -> list[dict[str, Any]]:
    """Append one ``agent.message`` per text; return the created events."""
    events = [{"type": "agent.message", "content": text} for text in texts]
    response = http.post(f"/sessions/{session_id}/events", json={"events": events})
    assert response.status_code == 200, response.text
    created: list[dict[str, Any]] = response.json()["data"]
    return created


def listed(http: httpx.Client, session_id: str) -> list[dict[str, Any]]:
    response = http.get(f"/sessions/{session_id}/events", params={"limit": 100})
    assert response.status_code == 200, response.text
    assert not response.json()["has_more"]
    events: list[dict[str, Any]] = response.json()["data"]
    return events


def port_of(server: ServerProcess) -> int:
    return int(server.url.rsplit(":", 1)[1])


def start(data_dir: Path, keepalive: float, *extra: str, port: int = 0) -> ServerProcess:
    """A server whose SSE keep-alive interval is ``keepalive`` seconds."""
    environ = {"WORKYARD_SSE_KEEPALIVE_SECONDS": str(keepalive)}
    return start_server(data_dir, *extra, port=port, environ=environ)


def raw_stream_request(server: ServerProcess, session_id: str) -> socket.socket:
    """A socket that has sent the stream request and read nothing."""
    host, port = server.url.split("//", 1)[1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    request = (
        f"GET /api/v1/cloud/sessions/{session_id}/events/stream HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {server.token}\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock
