"""The synchronous client: sends the calls built in ``_endpoints`` over ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from workyard.client._base import Call, StreamCall, Timeout, decode_response
from workyard.client._core import DEFAULT_TIMEOUT, Attempts, ClientCore, StreamRun, lost, send_args
from workyard.client._models import Page
from workyard.client._pages import SyncPage
from workyard.client._resources import Environments, Sessions, Work
from workyard.client._retry import RetryPolicy
from workyard.client._sse import sse_lines

__all__ = ["Client"]

T = TypeVar("T")


class Client(ClientCore):
    """Synchronous workyard / Qoder Cloud Agents client (see :class:`ClientCore` for defaults).

    ``timeout``: seconds or an ``httpx.Timeout`` (default 5 s to connect, 600 s to read);
    ``max_retries``: retries of a failed request (see ``_retry``).
    """

    _sleep: Callable[[float], None] = staticmethod(time.sleep)
    _wall: Callable[[], float] = staticmethod(time.time)

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, Any] | None = None,
        http_client: httpx.Client | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._configure(
            base_url, token, timeout, max_retries, retry_policy, default_headers, default_query
        )

    def _resources(self) -> None:
        self.environments = Environments(self)
        self.sessions = Sessions(self)
        self.work = Work(self)

    def execute(self, call: Call[T]) -> T:
        """Send ``call``, retrying per the retry policy, and decode its answer."""
        attempts = Attempts(self.config, call.request)
        while True:
            try:
                response = self._http.request(**send_args(attempts.request()))
            except httpx.TransportError as exc:
                delay = attempts.failed(exc, self._wall())
            else:
                status, headers, content = response.status_code, response.headers, response.content
                answered = attempts.answered(status, headers, content, self._wall())
                if answered is None:
                    return decode_response(call, status, headers, content, response)
                delay = answered
            self._sleep(delay)

    def page(self, call: Call[Page[T]]) -> SyncPage[T]:
        """The page ``call`` asks for, able to fetch the following ones."""
        page = self.execute(call)
        return SyncPage(**vars(page), _call=call, _fetch=self.page)

    def stream(self, call: StreamCall[T]) -> Generator[T, None, None]:
        """The events of a Server-Sent Events stream, reconnecting with ``Last-Event-ID``."""
        run = StreamRun(call, self.config)
        while True:
            try:
                reason = yield from self._connection(run)
            except httpx.TransportError as exc:
                reason = lost(exc)
            delay = run.next_delay(reason)
            if delay is None:
                return
            self._sleep(delay)

    def _connection(self, run: StreamRun[T]) -> Generator[T, None, str | None]:
        """One connection: yields its events; returns why it ended (``None``: for good)."""
        with self._http.stream(**send_args(run.request())) as response:
            if response.status_code != 200:
                response.read()
                return run.refused(response.status_code, response.headers, response.content)
            run.opened()
            for line in sse_lines(response.iter_bytes()):
                over, item = run.feed(line)
                if over:
                    return None
                if item is not None:
                    yield item
        return "the server closed the stream"

    def close(self) -> None:
        """Close the HTTP connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
