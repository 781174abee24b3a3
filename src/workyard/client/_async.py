"""The asynchronous client: sends the calls built in ``_endpoints`` over ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from workyard.client._base import Call, StreamCall, Timeout, decode_response
from workyard.client._core import DEFAULT_TIMEOUT, Attempts, ClientCore, StreamRun, lost, send_args
from workyard.client._models import Page
from workyard.client._pages import AsyncPage, AsyncPaginator
from workyard.client._resources import AsyncEnvironments, AsyncSessions, AsyncWork
from workyard.client._retry import RetryPolicy
from workyard.client._sse import asse_lines

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient(ClientCore):
    """Asynchronous workyard / Qoder Cloud Agents client (see :class:`Client`)."""

    _sleep: Callable[[float], Awaitable[None]] = staticmethod(asyncio.sleep)
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
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._configure(
            base_url, token, timeout, max_retries, retry_policy, default_headers, default_query
        )

    def _resources(self) -> None:
        self.environments = AsyncEnvironments(self)
        self.sessions = AsyncSessions(self)
        self.work = AsyncWork(self)

    async def execute(self, call: Call[T]) -> T:
        """Send ``call``, retrying per the retry policy, and decode its answer."""
        attempts = Attempts(self.config, call.request)
        while True:
            try:
                response = await self._http.request(**send_args(attempts.request()))
            except httpx.TransportError as exc:
                delay = attempts.failed(exc, self._wall())
            else:
                status, headers, content = response.status_code, response.headers, response.content
                answered = attempts.answered(status, headers, content, self._wall())
                if answered is None:
                    return decode_response(call, status, headers, content, response)
                delay = answered
            await self._sleep(delay)

    async def _page(self, call: Call[Page[T]]) -> AsyncPage[T]:
        page = await self.execute(call)
        return AsyncPage(**vars(page), _call=call, _fetch=self._page)

    def page(self, call: Call[Page[T]]) -> AsyncPaginator[T]:
        """The page ``call`` asks for (``await`` it), or its items and the following pages'
        (``async for``)."""
        return AsyncPaginator(lambda: self._page(call))

    async def stream(self, call: StreamCall[T]) -> AsyncGenerator[T, None]:
        """The events of a Server-Sent Events stream, reconnecting with ``Last-Event-ID``."""
        run = StreamRun(call, self.config)
        while True:
            outcome: list[str | None] = []
            try:
                async for item in self._connection(run, outcome):
                    yield item
            except httpx.TransportError as exc:
                outcome = [lost(exc)]
            delay = run.next_delay(outcome[0] if outcome else "the server closed the stream")
            if delay is None:
                return
            await self._sleep(delay)

    async def _connection(self, run: StreamRun[T], outcome: list[str | None]) -> AsyncIterator[T]:
        """One connection: yields its events; appends to ``outcome`` why it ended, unless the
        server just closed it (``None``: for good)."""
        async with self._http.stream(**send_args(run.request())) as response:
            if response.status_code != 200:
                await response.aread()
                outcome.append(
                    run.refused(response.status_code, response.headers, response.content)
                )
                return
            run.opened()
            async for line in asse_lines(response.aiter_bytes()):
                over, item = run.feed(line)
                if over:
                    outcome.append(None)
                    return
                if item is not None:
                    yield item

    async def close(self) -> None:
        """Close the HTTP connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
