"""Translate a keyset ``PageRequest`` into id bounds and a scan direction."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from workyard.domain.pagination import PageRequest

__all__ = ["Window", "merge_scans", "window"]

T = TypeVar("T")

_LOWEST = ""
_HIGHEST = "~"  # sorts after every id (ids are [a-z0-9_])


@dataclass(frozen=True, slots=True)
class Window:
    lo: str
    hi: str
    scan_descending: bool
    reverse: bool  # rows come nearest-anchor first; flip them into list order
    limit: int  # rows to fetch (one extra to learn has_more)


def window(page: PageRequest, descending: bool) -> Window:
    anchor = page.anchor
    fetch = page.limit + 1
    if anchor is None:
        return Window(_LOWEST, _HIGHEST, descending, False, fetch)
    forward = page.direction == "after"
    # Walking "after" in list order follows the list's own direction; "before" walks against it.
    scan_descending = descending if forward else not descending
    lo, hi = (_LOWEST, anchor) if scan_descending else (anchor, _HIGHEST)
    return Window(lo, hi, scan_descending, not forward, fetch)


def merge_scans(scans: Iterable[Sequence[T]], w: Window, key: Callable[[T], str]) -> list[T]:
    """Merge per-value scans of one window (each in scan order) into the window's first rows.

    A filter on several values (``state IN (…)``) runs as one ordered index range per value; each
    returns at most ``w.limit`` rows in scan order, and their merge is exactly what one scan over
    the union would return, while reading only matching rows.
    """
    merged = heapq.merge(*scans, key=key, reverse=w.scan_descending)
    return [row for _, row in zip(range(w.limit), merged, strict=False)]
