"""The raw HTTP/1.1 keep-alive clients every benchmark shares (Python HTTP clients would be the
bottleneck, not the server).

* :class:`Connection`: asyncio streams, JSON in and out, an error for any status ≥ 400 — for
  setting up and for loads where the client's cost does not matter much.
* :class:`Client` (via :func:`connect`) with :func:`request_bytes`: an ``asyncio.Protocol`` that
  sends prebuilt requests and hands back ``(status, body)``, for the hot-path measurements.

Both keep one request in flight per connection. Abusive clients (``abuse.py``) write their own
malformed bytes on purpose and do not use these.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Client", "Connection", "connect", "request_bytes"]


class Connection:
    """One keep-alive HTTP/1.1 connection sending JSON requests with a bearer token."""

    def __init__(self, url: str, token: str, keyed: bool = False) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.token = parts.hostname or "127.0.0.1", parts.port or 80, token
        self.keyed = keyed  # a fresh Idempotency-Key on every POST, as the SDK sends
        self.requests = 0

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def call(self, method: str, path: str, body: Any = None, worker: str = "") -> Any:
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Length: {len(payload)}\r\n"
            + (f"Worker-ID: {worker}\r\n" if worker else "")
            + (f"Idempotency-Key: {uuid.uuid4()}\r\n" if self.keyed and method == "POST" else "")
            + "Content-Type: application/json\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        self.requests += 1
        status = int(status_line.split()[1])
        if status >= 400:
            raise RuntimeError(f"{method} {path} → {status}: {data[:200]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        self.writer.close()


class Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request in flight at a time."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._transport: asyncio.Transport | None = None
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buffer[:end]).lower()
        at = head.find(b"content-length:")
        length = 0
        if at >= 0:
            line_end = head.find(b"\r\n", at)
            length = int(head[at + 15 : line_end if line_end >= 0 else len(head)])
        if len(buffer) < end + 4 + length:
            return
        body = bytes(buffer[end + 4 : end + 4 + length])
        del buffer[: end + 4 + length]
        assert self._waiter is not None
        self._waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("server closed the connection"))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(data)
        result = await self._waiter
        self.requests += 1
        return result


async def connect(host: str, port: int) -> Client:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(Client, host, port)
    transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def request_bytes(
    method: str, path: str, token: str = "", body: bytes = b"", headers: str = ""
) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\n{auth}{headers}"
        f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
    ).encode() + body
