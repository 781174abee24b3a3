"""The asynchronous client: runs the calls built in ``_endpoints`` over ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from workyard.client import _endpoints as ep
from workyard.client._base import (
    Call,
    ClientConfig,
    RetryPolicy,
    StreamCall,
    decode_response,
    decode_stream_event,
    next_page_call,
    stream_status,
)
from workyard.client._models import Page
from workyard.client._sse import TERMINAL_EVENTS, StreamCursor, asse_lines
from workyard.errors import APIConnectionError

__all__ = [
    "AsyncClient",
    "AsyncEnvironments",
    "AsyncSessionEvents",
    "AsyncSessions",
    "AsyncWork",
]

P = ParamSpec("P")
T = TypeVar("T")


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class _Op(Generic[P, T]):
    """A method that builds a call with ``build`` and executes it."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self._build = build

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _Resource, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(
        self, obj: _Resource | None, owner: type[Any]
    ) -> Self | Callable[P, Coroutine[Any, Any, T]]:
        if obj is None:
            return self
        client, build = obj._client, self._build

        @functools.wraps(build)
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await client.execute(build(*args, **kwargs))

        return method


class _PagedOp(Generic[P, T]):
    """A method that iterates over every item of a list, following ``next_page``."""

    def __init__(self, build: Callable[P, Call[Page[T]]]) -> None:
        self._build = build

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _Resource, owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(
        self, obj: _Resource | None, owner: type[Any]
    ) -> Self | Callable[P, AsyncIterator[T]]:
        if obj is None:
            return self
        client, build = obj._client, self._build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
            return client.iterate(build(*args, **kwargs))

        return method


class _StreamOp(Generic[P, T]):
    """A method that follows a resumable event stream."""

    def __init__(self, build: Callable[P, StreamCall[T]]) -> None:
        self._build = build

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _Resource, owner: type[Any]) -> Callable[P, AsyncGenerator[T, None]]: ...
    def __get__(
        self, obj: _Resource | None, owner: type[Any]
    ) -> Self | Callable[P, AsyncGenerator[T, None]]:
        if obj is None:
            return self
        client, build = obj._client, self._build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[T, None]:
            return client.stream(build(*args, **kwargs))

        return method


class AsyncEnvironments(_Resource):
    """``async_client.environments``: create, retrieve, update, list, archive, delete."""

    create = _Op(ep.create_environment)
    retrieve = _Op(ep.retrieve_environment)
    update = _Op(ep.update_environment)
    list = _Op(ep.list_environments)
    list_all = _PagedOp(ep.list_environments)
    archive = _Op(ep.archive_environment)
    delete = _Op(ep.delete_environment)


class AsyncSessionEvents(_Resource):
    """``async_client.sessions.events``: send, list, list_all, stream."""

    send = _Op(ep.send_session_events)
    list = _Op(ep.list_session_events)
    list_all = _PagedOp(ep.list_session_events)
    stream = _StreamOp(ep.stream_session_events)


class AsyncSessions(_Resource):
    """``async_client.sessions``: create, retrieve, update, list, archive, delete, cancel;
    ``events``."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self.events = AsyncSessionEvents(client)

    create = _Op(ep.create_session)
    retrieve = _Op(ep.retrieve_session)
    update = _Op(ep.update_session)
    list = _Op(ep.list_sessions)
    list_all = _PagedOp(ep.list_sessions)
    archive = _Op(ep.archive_session)
    delete = _Op(ep.delete_session)
    cancel = _Op(ep.cancel_session)


class AsyncWork(_Resource):
    """``async_client.work``: the self-hosted work queue of an environment."""

    list = _Op(ep.list_work)
    list_all = _PagedOp(ep.list_work)
    retrieve = _Op(ep.retrieve_work)
    update = _Op(ep.update_work)
    poll = _Op(ep.poll_work)
    ack = _Op(ep.ack_work)
    heartbeat = _Op(ep.heartbeat_work)
    stop = _Op(ep.stop_work)
    stats = _Op(ep.work_stats)


class AsyncClient:
    """Asynchronous workyard / Qoder Cloud Agents client.

    ``base_url`` defaults to ``WORKYARD_URL``, then ``http://127.0.0.1:8080``; ``/api/v1/cloud`` is
    appended unless already there. ``token`` defaults to ``WORKYARD_TOKEN``, then ``QODER_PAT``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.config = ClientConfig.resolve(
            base_url, token, timeout=timeout, max_retries=max_retries, retry=retry_policy
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self.environments = AsyncEnvironments(self)
        self.sessions = AsyncSessions(self)
        self.work = AsyncWork(self)

    async def execute(self, call: Call[T]) -> T:
        """Send ``call``, retrying per the retry policy, and decode its answer."""
        request, attempt = call.request, 0
        while True:
            try:
                response = await self._send(call)
            except httpx.TransportError as exc:
                delay = self.config.retry.delay(request, attempt, None)
                if delay is None:
                    raise APIConnectionError(
                        f"Could not reach {self.config.base_url}: {exc}"
                    ) from exc
            else:
                retry_after = response.headers.get("retry-after")
                delay = self.config.retry.delay(request, attempt, response.status_code, retry_after)
                if delay is None:
                    return decode_response(
                        call, response.status_code, response.headers, response.content
                    )
            await asyncio.sleep(delay)
            attempt += 1

    async def iterate(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        """Every item of the list ``call`` starts, fetching the following pages as needed."""
        next_call: Call[Page[T]] | None = call
        while next_call is not None:
            page = await self.execute(next_call)
            for item in page.data:
                yield item
            next_call = next_page_call(next_call, page)

    async def stream(self, call: StreamCall[T]) -> AsyncGenerator[T, None]:
        """The events of a Server-Sent Events stream, reconnecting with ``Last-Event-ID``."""
        cursor = call.cursor()
        while True:
            outcome: list[str | None] = []
            try:
                async for item in self._connection(call, cursor, outcome):
                    yield item
            except httpx.TransportError as exc:
                outcome = [f"connection lost: {exc or type(exc).__name__}"]
            reason = outcome[0] if outcome else "the server closed the stream"
            if reason is None:
                return
            delay = cursor.next_delay()
            if delay is None:
                raise APIConnectionError(f"Gave up following {call.request.path}: {reason}")
            call.reconnecting(reason, delay)
            await asyncio.sleep(delay)

    async def _connection(
        self, call: StreamCall[T], cursor: StreamCursor, outcome: list[str | None]
    ) -> AsyncIterator[T]:
        """One connection: yields its events; appends to ``outcome`` why it ended, when it
        ended with an answer other than 200 (``None``: for good)."""
        request = call.connection(cursor)
        timeout = httpx.Timeout(self.config.timeout, read=call.policy.idle_timeout)
        async with self._http.stream(
            request.method,
            self.config.url(request),
            params=list(request.params),
            headers=self.config.headers(request),
            timeout=timeout,
        ) as response:
            if response.status_code != 200:
                await response.aread()
                first = cursor.connections == 0
                outcome.append(
                    stream_status(
                        response.status_code, response.headers, response.content, first=first
                    )
                )
                return
            parser = cursor.connect()
            async for line in asse_lines(response.aiter_bytes()):
                frame = parser.feed(line)
                if frame is None:
                    continue
                if frame.event in TERMINAL_EVENTS:  # the session is gone: the stream is over
                    outcome.append(None)
                    return
                item = decode_stream_event(call, frame)
                cursor.delivered(frame)
                if item is not None:
                    yield item

    async def _send(self, call: Call[Any]) -> httpx.Response:
        request = call.request
        return await self._http.request(
            request.method,
            self.config.url(request),
            params=list(request.params),
            headers=self.config.headers(request),
            content=self.config.content(request),
        )

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
