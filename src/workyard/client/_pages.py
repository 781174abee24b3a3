"""Pages that know how to fetch the next one, as ``qca-sdk``'s ``SyncPage`` / ``AsyncPage``.

``page.data`` is this page's items; ``has_next_page()``, ``get_next_page()`` and ``iter_pages()``
walk the following pages; iterating the page itself (``for item in page`` / ``async for``) yields
every item of every page from this one on. An async list call returns an
:class:`AsyncPaginator`: ``await`` it for the first page, or ``async for`` over all the items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from workyard.client._base import Call, next_page_call
from workyard.client._models import Page

__all__ = ["AsyncPage", "AsyncPaginator", "SyncPage"]

T = TypeVar("T")


def _no_fetch(call: Call[Page[Any]]) -> Any:
    raise RuntimeError("Page is not attached to a client request")


@dataclass(frozen=True)
class _Attached(Page[T]):
    """A page with the call that fetched it, so that the next one can be asked for."""

    _call: Call[Page[T]] | None = field(default=None, repr=False, compare=False)

    def _next_call(self) -> Call[Page[T]] | None:
        return None if self._call is None else next_page_call(self._call, self)

    def has_next_page(self) -> bool:
        return self._next_call() is not None


@dataclass(frozen=True)
class SyncPage(_Attached[T]):
    """A page of a list, with the client that can fetch the next one."""

    _fetch: Callable[[Call[Page[T]]], SyncPage[T]] = field(
        default=_no_fetch, repr=False, compare=False
    )

    def get_next_page(self) -> SyncPage[T]:
        """The following page; ``RuntimeError`` on the last one."""
        call = self._next_call()
        if call is None:
            raise RuntimeError("No more pages")
        return self._fetch(call)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        """This page and each following one."""
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


@dataclass(frozen=True)
class AsyncPage(_Attached[T]):
    """A page of a list, with the async client that can fetch the next one."""

    _fetch: Callable[[Call[Page[T]]], Awaitable[AsyncPage[T]]] = field(
        default=_no_fetch, repr=False, compare=False
    )

    async def get_next_page(self) -> AsyncPage[T]:
        """The following page; ``RuntimeError`` on the last one."""
        call = self._next_call()
        if call is None:
            raise RuntimeError("No more pages")
        return await self._fetch(call)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page and each following one."""
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class AsyncPaginator(Generic[T]):
    """What an async list call returns: ``await`` it for the first page, or iterate the items."""

    def __init__(self, fetch: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._fetch()
        async for item in page:
            yield item
