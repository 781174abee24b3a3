"""Helpers shared by both backends' dashboard reads."""

from __future__ import annotations

from workyard.store.window import Window

__all__ = ["like_pattern", "scan_bounds"]

_LOWEST, _HIGHEST = "", "~"


def like_pattern(text: str | None) -> str | None:
    """A ``LIKE … ESCAPE '\\'`` pattern: ``text`` anywhere, its wildcards taken literally."""
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def scan_bounds(w: Window, end: str | None) -> tuple[str, str, str | None]:
    """``(scan_lo, scan_hi, end)``: the ids (inclusive) a bounded search may look at in window
    ``w``, given ``end``, the last row of its scan (``None``: the window ends first)."""
    if end is None:
        return _LOWEST, _HIGHEST, None
    return (end, _HIGHEST, end) if w.scan_descending else (_LOWEST, end, end)
