"""Translate a keyset ``PageRequest`` into id bounds and a scan direction."""

from __future__ import annotations

from dataclasses import dataclass

from workyard.domain.pagination import PageRequest

__all__ = ["Window", "window"]

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
