"""Keyset paging for the dashboard's lists: a cursor in the query string, links both ways."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from workyard.domain.pagination import Page, PageRequest, decode_cursor, encode_cursor

__all__ = ["NO_LINKS", "Links", "links", "request"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Links:
    """Cursors of the neighbouring pages in list order (``None``: there is none)."""

    previous: str | None
    next: str | None
    cut: bool = False  # a bounded search stopped early: one of the links searches on

    @property
    def any(self) -> bool:
        return self.previous is not None or self.next is not None


NO_LINKS = Links(None, None)


def request(cursor: str | None, prefix: str, limit: int) -> PageRequest:
    """The page a list's cursor names (the first page without one); a bad cursor is a 400."""
    if not cursor:
        return PageRequest(limit)
    direction, anchor = decode_cursor(cursor, prefix)
    return PageRequest(limit, anchor, direction)


def links(
    page: Page[T], asked: PageRequest, key: Callable[[T], str], scanned_to: str | None = None
) -> Links:
    """Where the pages before and after ``page`` start, given the request that read it.

    ``scanned_to``: the last id a bounded search looked at when it stopped short of a full page;
    the link onwards then resumes the search after it.
    """
    if scanned_to is not None and not page.has_more:
        onwards = encode_cursor(asked.direction, scanned_to)
        found = links(page, asked, key)
        if asked.direction == "before":
            return Links(onwards, found.next, cut=True)
        return Links(found.previous, onwards, cut=True)
    if not page.data:
        return NO_LINKS
    if asked.direction == "before":
        previous = page.next_page  # the store's own cursor: more rows before these
        following: str | None = encode_cursor("after", key(page.data[-1]))
    else:
        previous = None if asked.anchor is None else encode_cursor("before", key(page.data[0]))
        following = page.next_page
    return Links(previous, following)
