"""Keyset pagination: limits, opaque cursors and page assembly. Pure."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from workyard.errors import InvalidRequestError
from workyard.ids import is_id

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "PageRequest",
    "decode_cursor",
    "encode_cursor",
    "make_page",
    "page_request",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
T = TypeVar("T")
Direction = Literal["after", "before"]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which slice of a list to read: ``limit`` rows after/before ``anchor`` in list order."""

    limit: int
    anchor: str | None = None
    direction: Direction = "after"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool
    next_page: str | None


def encode_cursor(direction: Direction, anchor: str) -> str:
    raw = json.dumps({"d": direction, "id": anchor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, prefix: str) -> tuple[Direction, str]:
    """Parse a ``page`` cursor; raise 400 (``param: "page"``) if it is not one of ours."""
    bad = InvalidRequestError("page is not a valid pagination cursor", param="page")
    if not cursor or len(cursor) > 200:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(value, dict):
        raise bad
    direction, anchor = value.get("d"), value.get("id")
    if direction not in ("after", "before") or not isinstance(anchor, str):
        raise bad
    if not is_id(prefix, anchor):
        raise bad
    return direction, anchor


def page_request(
    *,
    limit: int | None,
    page: str | None,
    after_id: str | None,
    before_id: str | None,
    prefix: str,
) -> PageRequest:
    """Validate the pagination parameters of a list request."""
    pairs = (("page", page), ("after_id", after_id), ("before_id", before_id))
    given = [name for name, value in pairs if value is not None]
    if len(given) > 1:
        raise InvalidRequestError(
            "page, after_id and before_id are mutually exclusive; send at most one",
            param=given[1],
        )
    if limit is None:
        limit = DEFAULT_LIMIT
    if limit < 1:
        raise InvalidRequestError("limit must be a positive integer", param="limit")
    limit = min(limit, MAX_LIMIT)
    if page is not None:
        direction, anchor = decode_cursor(page, prefix)
        return PageRequest(limit, anchor, direction)
    if after_id is not None:
        return PageRequest(limit, _anchor("after_id", after_id, prefix), "after")
    if before_id is not None:
        return PageRequest(limit, _anchor("before_id", before_id, prefix), "before")
    return PageRequest(limit)


def _anchor(name: str, value: str, prefix: str) -> str:
    if not is_id(prefix, value):
        raise InvalidRequestError(f"{name} must be an id of the form {prefix}_…", param=name)
    return value


def make_page(
    rows: Sequence[T], request: PageRequest, key: Callable[[T], str], cut: bool = False
) -> Page[T]:
    """Assemble a page from up to ``limit + 1`` rows already in list order.

    For ``before`` requests the store returns the rows nearest the anchor, in list order, with the
    probe row (if any) first. ``cut``: a byte budget ended the rows early (there is more, and no
    probe row among them); the page continues from the last row kept.
    """
    if cut and rows:
        data = list(rows)
        anchor = key(data[0]) if request.direction == "before" else key(data[-1])
        return Page(data=data, has_more=True, next_page=encode_cursor(request.direction, anchor))
    more = len(rows) > request.limit
    if request.direction == "before":
        data = list(rows[1:] if more else rows)
        cursor = encode_cursor("before", key(data[0])) if more and data else None
    else:
        data = list(rows[: request.limit])
        cursor = encode_cursor("after", key(data[-1])) if more and data else None
    return Page(data=data, has_more=more, next_page=cursor)
