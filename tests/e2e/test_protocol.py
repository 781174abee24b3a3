"""Requests that are not valid HTTP never reach the app; they still get the error envelope."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ServerProcess


def _exchange(server: ServerProcess, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):  # the server closes the connection after answering
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /api/v1/cloud/environments?limit=\xe0\xa5\xaf HTTP/1.1\r\nHost: x\r\n\r\n",
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n",
    ],
    ids=["non-ascii-target", "garbage", "bad-header"],
)
def test_an_unparseable_request_gets_the_envelope(server: ServerProcess, raw: bytes) -> None:
    status, headers, body = _exchange(server, raw)
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    envelope = json.loads(body)
    assert envelope["type"] == "error"
    assert envelope["error"]["type"] == "invalid_request_error"
    assert envelope["request_id"] == headers["x-request-id"]


def test_a_valid_request_on_the_same_server_is_served(server: ServerProcess) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, headers, body = _exchange(server, raw)
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body) == {"status": "ok"}
    assert headers["content-type"] == "application/json"
