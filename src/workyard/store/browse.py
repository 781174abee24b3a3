"""Helpers shared by both backends' dashboard reads."""

from __future__ import annotations

__all__ = ["like_pattern"]


def like_pattern(text: str | None) -> str | None:
    """A ``LIKE … ESCAPE '\\'`` pattern: ``text`` anywhere, its wildcards taken literally."""
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
