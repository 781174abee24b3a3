"""What the sync and async clients share, with no I/O: configuration, the retry loop's decisions
(:class:`Attempts`) and a resumable stream's (:class:`StreamRun`).

Each client keeps only its transport: send a :class:`PreparedRequest`, sleep, read bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Self, TypeVar, Unpack

import httpx

from workyard.client._base import (
    RequestSpec,
    StreamCall,
    Timeout,
    decode_stream_event,
    stream_status,
)
from workyard.client._config import DEFAULT_TIMEOUT, ClientConfig, ClientOptions, PreparedRequest
from workyard.client._errors import APIConnectionError, APITimeoutError
from workyard.client._retry import RetryPolicy
from workyard.client._sse import TERMINAL_EVENTS, SSEParser, StreamCursor

__all__ = ["DEFAULT_TIMEOUT", "Attempts", "ClientCore", "StreamRun", "lost", "send_args"]

T = TypeVar("T")


def send_args(request: PreparedRequest) -> dict[str, Any]:
    """The keyword arguments of ``httpx.Client.request`` / ``.stream`` for ``request``."""
    return {
        "method": request.method,
        "url": request.url,
        "params": request.params,
        "headers": request.headers,
        "content": request.content,
        "timeout": request.timeout,
    }


class Attempts:
    """One call's attempts: the request to send next and what to do after each outcome."""

    def __init__(self, config: ClientConfig, request: RequestSpec) -> None:
        self.policy: RetryPolicy = config.retry
        self.prepared = config.prepare(request)
        self.attempt = 0

    def request(self) -> PreparedRequest:
        """The request to send now (the same idempotency key on every attempt)."""
        return self.prepared.with_retry_count(self.attempt) if self.attempt else self.prepared

    def _next(
        self, status: int | None, headers: Mapping[str, str] | None, content: bytes, now: float
    ) -> float | None:
        prepared = self.prepared
        delay = self.policy.next_delay(
            self.attempt,
            prepared.method,
            prepared.idempotency_key,
            status,
            headers,
            content,
            now,
        )
        if delay is not None:
            self.attempt += 1
        return delay

    def failed(self, exc: httpx.TransportError, now: float) -> float:
        """No answer: the wait before the next attempt, or raise ``APIConnectionError`` /
        ``APITimeoutError``."""
        delay = self._next(None, None, b"", now)
        if delay is None:
            cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
            raise cls(request=exc.request if _has_request(exc) else None) from exc
        return delay

    def answered(
        self, status: int, headers: Mapping[str, str], content: bytes, now: float
    ) -> float | None:
        """An answer: the wait before retrying, or ``None`` to decode it as it is."""
        if 200 <= status < 300:
            return None
        return self._next(status, headers, content, now)


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when it has none
    except RuntimeError:
        return False
    return True


class StreamRun(Generic[T]):
    """A resumable stream's state between and within connections."""

    def __init__(self, call: StreamCall[T], config: ClientConfig) -> None:
        self.call = call
        self.config = config
        self.cursor: StreamCursor = call.cursor()
        self._parser: SSEParser | None = None

    def request(self) -> PreparedRequest:
        """The next connection's request; a silent connection times out after ``idle_timeout``."""
        prepared = self.config.prepare(self.call.connection(self.cursor))
        base = httpx.Timeout(prepared.timeout)
        idle = self.call.policy.idle_timeout
        timeout = httpx.Timeout(connect=base.connect, read=idle, write=base.write, pool=base.pool)
        return PreparedRequest(
            prepared.method, prepared.url, prepared.params, prepared.headers, None, timeout
        )

    def refused(self, status: int, headers: Mapping[str, str], content: bytes) -> str | None:
        """A non-200 answer: the reason to reconnect, ``None`` when over, or it raises."""
        return stream_status(status, headers, content, first=self.cursor.connections == 0)

    def opened(self) -> None:
        self._parser = self.cursor.connect()

    def feed(self, line: str) -> tuple[bool, T | None]:
        """One line: ``(True, None)`` when the stream is over for good, else the event it
        completes (``None``: none, or one the caller does not want)."""
        assert self._parser is not None, "opened() first"
        frame = self._parser.feed(line)
        if frame is None:
            return False, None
        if frame.event in TERMINAL_EVENTS:  # the session is gone: the stream is over
            return True, None
        item = decode_stream_event(self.call, frame)
        self.cursor.delivered(frame)
        return False, item

    def next_delay(self, reason: str | None) -> float | None:
        """After a connection ended (``reason`` ``None``: for good): the wait before the next
        one, ``None`` to stop, or ``APIConnectionError`` when the policy gives up."""
        if reason is None:
            return None
        delay = self.cursor.next_delay()
        if delay is None:
            raise APIConnectionError(
                message=f"Gave up following {self.call.request.path}: {reason}"
            )
        self.call.reconnecting(reason, delay)
        return delay


def lost(exc: httpx.TransportError) -> str:
    """The reconnect reason for a dropped connection."""
    return f"connection lost: {exc or type(exc).__name__}"


class ClientCore:
    """Configuration and ``with_options`` for both clients (``base_url``: ``WORKYARD_URL``, then
    ``QODER_MANAGED_BASE_URL``, then ``http://127.0.0.1:8080``, with ``/api/v1/cloud`` appended
    unless there; ``token``: ``WORKYARD_TOKEN``, then ``QODER_ACCESS_TOKEN``, ``QODER_PAT``)."""

    config: ClientConfig
    _owns_http: bool

    def _configure(
        self,
        base_url: str | None,
        token: str | None,
        timeout: Timeout,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
        default_query: Mapping[str, Any] | None,
    ) -> None:
        self.config = ClientConfig.resolve(
            base_url,
            token,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry_policy,
            default_headers=default_headers,
            default_query=default_query,
        )
        self._resources()

    def _resources(self) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def timeout(self) -> Timeout:
        return self.config.timeout

    @property
    def max_retries(self) -> int:
        return self.config.retry.max_retries

    def with_options(self, **changes: Unpack[ClientOptions]) -> Self:
        """A client with these settings changed (``base_url``, ``token``, ``timeout``,
        ``max_retries``; ``default_headers`` and ``default_query`` are merged), sharing this
        one's connection pool: closing it does not close the pool."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.config = self.config.with_options(**changes)
        clone._owns_http = False
        clone._resources()
        return clone

    copy = with_options
