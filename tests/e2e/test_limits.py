"""Per-connection limits of a real server: header size (431), header and body timeouts, the cap.

The servers here run with tiny timeouts (0.5 s); the tests assert what the server does (answers,
closes), never how long it took.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, start_server
from tests.e2e.sse_support import KEEPALIVE, api_client, append, new_session, open_stream

LIMITS = {
    "WORKYARD_HEADER_TIMEOUT_SECONDS": "0.5",
    "WORKYARD_BODY_TIMEOUT_SECONDS": "0.5",
    "WORKYARD_SSE_KEEPALIVE_SECONDS": "0.2",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("limits") / "data", environ=LIMITS)
    try:
        yield server
    finally:
        server.stop()


def _connect(server: ServerProcess) -> socket.socket:
    host, port = server.url.split("//", 1)[1].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _read_to_eof(sock: socket.socket) -> bytes:
    """Everything until the server closes (a ``socket.timeout`` fails the test: it never did)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _parse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status.split()[1]), headers, body


def _assert_envelope(data: bytes, status: int, error_type: str) -> dict[str, str]:
    code, headers, body = _parse(data)
    assert code == status, data[:300]
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    envelope = json.loads(body)
    assert envelope["type"] == "error"
    assert envelope["error"]["type"] == error_type
    assert envelope["request_id"] == headers["x-request-id"]
    return headers


def _request_with_header(size: int) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n"


@pytest.mark.parametrize("pieces", [1, 70], ids=["one-write", "many-writes"])
def test_headers_over_64_kib_get_431(limited: ServerProcess, pieces: int) -> None:
    raw = _request_with_header(65 * 1024)
    step = -(-len(raw) // pieces)
    with _connect(limited) as sock:
        for start in range(0, len(raw), step):
            sock.sendall(raw[start : start + step])
        _assert_envelope(_read_to_eof(sock), 431, "invalid_request_error")


def test_headers_just_under_the_limit_are_served(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(_request_with_header(60 * 1024).replace(b"Host: x", b"Connection: close"))
        code, _, body = _parse(_read_to_eof(sock))
    assert code == 200
    assert json.loads(body) == {"status": "ok"}


def test_a_huge_header_is_cut_off_before_it_is_all_sent(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        assert _bytes_sent_until_reset(sock, 64 * 1024 * 1024) < 64 * 1024 * 1024


def _bytes_sent_until_reset(sock: socket.socket, total: int) -> int:
    piece = b"a" * 65536
    sent = 0
    try:
        while sent < total:
            sock.sendall(piece)
            sent += len(piece)
    except ConnectionError:  # reset (or broken pipe): the server stopped reading
        pass
    return sent


def test_half_a_request_line_is_answered_408_and_closed(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /hea")
        _assert_envelope(_read_to_eof(sock), 408, "invalid_request_error")


def test_a_connection_that_sends_nothing_is_closed(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        assert _read_to_eof(sock) == b""


def test_a_stalled_chunked_body_is_closed(limited: ServerProcess) -> None:
    with api_client(limited) as http:
        session = new_session(http)
    with _connect(limited) as sock:
        sock.sendall(
            f"POST /api/v1/cloud/sessions/{session['id']}/events HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {limited.token}\r\nContent-Type: application/json\r\n"
            'Transfer-Encoding: chunked\r\n\r\n40\r\n{"events": ['.encode()
        )
        data = _read_to_eof(sock)
    assert not data.startswith(b"HTTP/1.1 2"), data[:200]
    with api_client(limited) as http:
        assert http.get(f"/sessions/{session['id']}/events").json()["data"] == []
    assert "Traceback" not in limited.log()  # a client cut off mid-body is not a server error


def test_keep_alive_and_pipelined_requests_still_work(limited: ServerProcess) -> None:
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with _connect(limited) as sock:
        sock.sendall(one)
        first = sock.recv(65536)
        sock.sendall(one + one + last)
        rest = _read_to_eof(sock)
    assert first.startswith(b"HTTP/1.1 200 ")
    assert rest.count(b"HTTP/1.1 200 ") == 3


def test_pipelined_requests_with_large_headers_are_measured_one_by_one(
    limited: ServerProcess,
) -> None:
    big = b"X-Big: " + b"a" * (60 * 1024) + b"\r\n"
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"Content-Length: 5\r\n\r\nhello"
    second = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + big + b"\r\n"
    with _connect(limited) as sock:
        sock.sendall(first + second[:100])
        sock.sendall(second[100:])
        answers = _read_to_eof(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 2, answers[:300]


def test_long_polls_outlast_the_receive_timeouts(limited: ServerProcess) -> None:
    with api_client(limited) as http:
        env = http.post("/environments", json={"name": "p", "config": {"type": "self_hosted"}})
        for _ in range(3):  # each blocks ~1 s, twice the header and body timeouts
            response = http.get(
                f"/environments/{env.json()['id']}/work/poll",
                params={"block_ms": 999},
                headers={"worker-id": "w1"},
            )
            assert response.status_code == 200
            assert response.json() is None


def test_event_streams_outlast_the_receive_timeouts(limited: ServerProcess) -> None:
    with api_client(limited) as http:
        session = new_session(http)
        with open_stream(http, session["id"]) as stream:
            for _ in range(6):  # keep-alives every 0.2 s: past both 0.5 s timeouts
                frame = stream.next()
                assert frame is not None and frame.comment == KEEPALIVE
            with api_client(limited) as writer:
                (event,) = append(writer, session["id"], "still here")
            frames = stream.events(1)
    assert frames[0].id == event["id"]


def test_connections_over_the_cap_get_503(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", environ={"WORKYARD_MAX_CONNECTIONS": "3"})
    try:
        with api_client(server) as http:
            session = new_session(http)
        streams = [_open_raw_stream(server, session["id"]) for _ in range(3)]
        with _connect(server) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            headers = _assert_envelope(_read_to_eof(sock), 503, "overloaded_error")
        assert headers["retry-after"] == "1"
        streams.pop().close()
        assert _healthz_once_a_slot_frees(server) == 200
        for stream in streams:
            stream.close()
    finally:
        server.stop()


def _open_raw_stream(server: ServerProcess, session_id: str) -> socket.socket:
    sock = _connect(server)
    sock.sendall(
        f"GET /api/v1/cloud/sessions/{session_id}/events/stream HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.token}\r\n\r\n".encode()
    )
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    return sock


def _healthz_once_a_slot_frees(server: ServerProcess) -> int:
    """The server notices a closed connection asynchronously: retry while it still says 503."""
    for _ in range(100):
        response = httpx.get(f"{server.url}/healthz", headers={"connection": "close"})
        if response.status_code != 503:
            return response.status_code
    return 503
