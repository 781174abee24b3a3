"""A stream client that stops reading costs the server bounded memory and is disconnected.

spec/conventions.md: the server stays responsive under overload, never with unbounded memory.
``src/workyard/api/sse.py``: one batch at a time, each write handed to the transport before the next
read; a client that reads nothing for ``stall_seconds`` (30 s) is dropped. This test therefore
takes about half a minute of wall time: the stall timeout is not on the manual clock.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ServerProcess
from tests.e2e.sse_support import api_client, append, new_session, raw_stream_request, start

EVENT_TEXT = "x" * (1024 * 1024 - 200)  # each event's JSON just under 1 MiB
EVENTS = 40
GAVE_UP = "ASGI callable returned without completing response"


def rss_bytes(server: ServerProcess) -> int:
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        chunk = sock.recv(65536)
        assert chunk, "the stream closed early"
        received += chunk
    return received


def wait_for_log(server: ServerProcess, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in server.log():
            return True
        time.sleep(0.2)  # polling the server's log with an overall deadline
    return False


def test_a_client_that_stops_reading_is_bounded_and_dropped(tmp_path: Path) -> None:
    server = start(tmp_path / "data", 0.5, "--manual-clock")
    try:
        with api_client(server, timeout=30) as http:
            # Warm the server up with the same traffic on another session first.
            warm = new_session(http)["id"]
            for _ in range(4):
                append(http, warm, EVENT_TEXT)
            sid = new_session(http)["id"]
            first = append(http, sid, "small")
            sock = raw_stream_request(server, sid)
            try:
                head = read_until(sock, first[0]["id"].encode())
                assert head.startswith(b"HTTP/1.1 200"), head[:200]
                # From here on the client reads nothing.
                before = rss_bytes(server)
                appended = 0
                for _ in range(EVENTS):
                    created = append(http, sid, EVENT_TEXT)
                    appended += len(EVENT_TEXT)
                    assert created[0]["content"][0]["text"] == EVENT_TEXT
                growth = rss_bytes(server) - before
                print(
                    f"RSS growth {growth / 2**20:.1f} MiB for {appended / 2**20:.0f} MiB appended"
                )
                assert growth < appended / 4, (growth, appended)
                # The server is still serving everyone else.
                assert http.get("/sessions", params={"limit": 1}).status_code == 200

                assert wait_for_log(server, GAVE_UP, 90), "the stalled stream was never dropped"
                # What the kernel buffered is still readable, then the connection ends (EOF).
                received = head
                while chunk := sock.recv(1 << 20):
                    received += chunk
            finally:
                sock.close()
            assert len(received) < appended / 2, "a dropped client got the whole log"
            body = received.split(b"\r\n\r\n", 1)[1]
            ids = [line[4:].decode() for line in body.split(b"\n") if line.startswith(b"id: ")]
            listed: list[dict[str, Any]] = []
            params: dict[str, Any] = {"limit": 100}
            while True:  # ~41 MiB of events: pages are cut at 8 MiB (docs/api.md), so follow them
                page = http.get(f"/sessions/{sid}/events", params=params).json()
                listed += page["data"]
                if not page["has_more"]:
                    break
                params = {"limit": 100, "page": page["next_page"]}
            assert len(listed) == EVENTS + 1
            # What did arrive is a gap-free prefix of the log.
            assert ids == [e["id"] for e in listed][: len(ids)] and len(ids) >= 1
    finally:
        server.stop()


def test_a_stalled_client_on_a_large_history_is_bounded(tmp_path: Path) -> None:
    server = start(tmp_path / "data", 60, "--manual-clock")
    try:
        with api_client(server, timeout=30) as http:
            sid = new_session(http)["id"]
            history = [append(http, sid, EVENT_TEXT)[0] for _ in range(EVENTS)]
            before = rss_bytes(server)
            sock = raw_stream_request(server, sid)
            try:
                # Once the first event arrives the server has read what it is sending from.
                head = read_until(sock, history[0]["id"].encode())
                assert head.startswith(b"HTTP/1.1 200"), head[:200]
                growth = rss_bytes(server) - before
            finally:
                sock.close()
            print(f"RSS growth {growth / 2**20:.1f} MiB for a {EVENTS} MiB history")
            assert growth < EVENTS * len(EVENT_TEXT) / 4, growth
    finally:
        server.stop()
