"""The resources of both clients, declared once.

Each operation is a builder from ``_endpoints`` (signature and docstring live there) wrapped in a
descriptor that runs it with the owning client: ``client.environments.create(...)`` is
``client.execute(create_environment(...))``. A resource's table of operations is a mixin shared by
the sync and the async resource class; the descriptor's type follows the owner, so the sync method
returns ``T`` and the async one a coroutine of ``T``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator, Iterator
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, overload

from workyard.client import _endpoints as ep
from workyard.client import _work_endpoints as wep
from workyard.client._base import Call, StreamCall
from workyard.client._models import Page
from workyard.client._pages import AsyncPaginator, SyncPage

__all__ = [
    "AsyncEnvironmentWork",
    "AsyncEnvironments",
    "AsyncSessionEvents",
    "AsyncSessions",
    "AsyncWork",
    "EnvironmentWork",
    "Environments",
    "SessionEvents",
    "Sessions",
    "Work",
]

P = ParamSpec("P")
T = TypeVar("T")


class SyncRunner(Protocol):
    def execute(self, call: Call[T]) -> T: ...
    def page(self, call: Call[Page[T]]) -> SyncPage[T]: ...
    def stream(self, call: StreamCall[T]) -> Generator[T, None, None]: ...


class AsyncRunner(Protocol):
    async def execute(self, call: Call[T]) -> T: ...
    def page(self, call: Call[Page[T]]) -> AsyncPaginator[T]: ...
    def stream(self, call: StreamCall[T]) -> AsyncGenerator[T, None]: ...


class SyncResource:
    def __init__(self, client: SyncRunner) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncRunner) -> None:
        self._client = client


class _Bound(Generic[P, T]):
    """Runs ``build(...)`` with the client method named ``runner``."""

    runner = "execute"

    def __init__(self, build: Callable[P, Any]) -> None:
        self._build = build

    def _bind(self, obj: SyncResource | AsyncResource) -> Any:
        run, build = getattr(obj._client, self.runner), self._build

        @functools.wraps(build)
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(build(*args, **kwargs))

        return method


class Op(_Bound[P, T]):
    """One request, one decoded answer."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: SyncResource, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncResource, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: SyncResource | AsyncResource | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bind(obj)


class ListOp(_Bound[P, T]):
    """A list: a page that can fetch the next ones (and iterates over every item)."""

    runner = "page"

    def __init__(self, build: Callable[P, Call[Page[T]]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: SyncResource, owner: type[Any]) -> Callable[P, SyncPage[T]]: ...
    @overload
    def __get__(self, obj: AsyncResource, owner: type[Any]) -> Callable[P, AsyncPaginator[T]]: ...
    def __get__(self, obj: SyncResource | AsyncResource | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bind(obj)


class AllOp(ListOp[P, T]):
    """Every item of a list (``list_all``: the same as iterating ``list(...)``)."""

    @overload  # type: ignore[override]
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: SyncResource, owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, obj: AsyncResource, owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, obj: SyncResource | AsyncResource | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        pages = self._bind(obj)

        @functools.wraps(self._build)
        def items(*args: Any, **kwargs: Any) -> Iterator[Any]:
            yield from pages(*args, **kwargs)

        @functools.wraps(self._build)
        async def aitems(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async for item in pages(*args, **kwargs):
                yield item

        return items if isinstance(obj, SyncResource) else aitems


class StreamOp(_Bound[P, T]):
    """A resumable Server-Sent Events stream."""

    runner = "stream"

    def __init__(self, build: Callable[P, StreamCall[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, obj: SyncResource, owner: type[Any]
    ) -> Callable[P, Generator[T, None, None]]: ...
    @overload
    def __get__(
        self, obj: AsyncResource, owner: type[Any]
    ) -> Callable[P, AsyncGenerator[T, None]]: ...
    def __get__(self, obj: SyncResource | AsyncResource | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bind(obj)


# The tables of operations


class _EnvironmentWorkOps:
    """``environments.work``: the self-hosted work queue, with ``qca-sdk``'s signatures."""

    list = ListOp(wep.list_work)
    list_all = AllOp(wep.list_work)
    retrieve = Op(wep.retrieve)
    update = Op(wep.update)
    poll = Op(wep.poll_work)
    ack = Op(wep.ack)
    heartbeat = Op(wep.heartbeat)
    stop = Op(wep.stop)
    stats = Op(wep.work_stats)


class _WorkOps:
    """``work``: the same queue, the environment id first (kept from earlier workyard SDKs)."""

    list = ListOp(wep.list_work)
    list_all = AllOp(wep.list_work)
    retrieve = Op(wep.retrieve_work)
    update = Op(wep.update_work)
    poll = Op(wep.poll_work)
    ack = Op(wep.ack_work)
    heartbeat = Op(wep.heartbeat_work)
    stop = Op(wep.stop_work)
    stats = Op(wep.work_stats)


class _EnvironmentOps:
    """``environments``: create, retrieve, update, list, archive, delete; ``work``."""

    create = Op(ep.create_environment)
    retrieve = Op(ep.retrieve_environment)
    update = Op(ep.update_environment)
    list = ListOp(ep.list_environments)
    list_all = AllOp(ep.list_environments)
    archive = Op(ep.archive_environment)
    delete = Op(ep.delete_environment)


class _SessionEventOps:
    """``sessions.events``: send, list, list_all, stream."""

    send = Op(ep.send_session_events)
    list = ListOp(ep.list_session_events)
    list_all = AllOp(ep.list_session_events)
    stream = StreamOp(ep.stream_session_events)


class _SessionOps:
    """``sessions``: create, retrieve, update, list, archive, delete, cancel; ``events``."""

    create = Op(ep.create_session)
    retrieve = Op(ep.retrieve_session)
    update = Op(ep.update_session)
    list = ListOp(ep.list_sessions)
    list_all = AllOp(ep.list_sessions)
    archive = Op(ep.archive_session)
    delete = Op(ep.delete_session)
    cancel = Op(ep.cancel_session)


class EnvironmentWork(_EnvironmentWorkOps, SyncResource):
    __doc__ = _EnvironmentWorkOps.__doc__


class Work(_WorkOps, SyncResource):
    __doc__ = _WorkOps.__doc__


class Environments(_EnvironmentOps, SyncResource):
    __doc__ = _EnvironmentOps.__doc__

    def __init__(self, client: SyncRunner) -> None:
        super().__init__(client)
        self.work = EnvironmentWork(client)


class SessionEvents(_SessionEventOps, SyncResource):
    __doc__ = _SessionEventOps.__doc__


class Sessions(_SessionOps, SyncResource):
    __doc__ = _SessionOps.__doc__

    def __init__(self, client: SyncRunner) -> None:
        super().__init__(client)
        self.events = SessionEvents(client)


class AsyncEnvironmentWork(_EnvironmentWorkOps, AsyncResource):
    __doc__ = _EnvironmentWorkOps.__doc__


class AsyncWork(_WorkOps, AsyncResource):
    __doc__ = _WorkOps.__doc__


class AsyncEnvironments(_EnvironmentOps, AsyncResource):
    __doc__ = _EnvironmentOps.__doc__

    def __init__(self, client: AsyncRunner) -> None:
        super().__init__(client)
        self.work = AsyncEnvironmentWork(client)


class AsyncSessionEvents(_SessionEventOps, AsyncResource):
    __doc__ = _SessionEventOps.__doc__


class AsyncSessions(_SessionOps, AsyncResource):
    __doc__ = _SessionOps.__doc__

    def __init__(self, client: AsyncRunner) -> None:
        super().__init__(client)
        self.events = AsyncSessionEvents(client)
