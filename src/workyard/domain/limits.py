"""Every size limit of the API in one place, and the helpers that enforce them cheaply. Pure.

Lengths of strings count characters (code points); byte sizes count the UTF-8 bytes of the
compact JSON encoding (``separators=(",", ":")``, ``ensure_ascii=False``). Measuring never costs
more than the limit: :func:`json_size_within` stops as soon as the budget is spent, and no value is
serialized whole to be measured. docs/api.md lists the same limits in one table.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_AGENT_BYTES",
    "MAX_AGENT_ID_LENGTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_EVENTS_PER_REQUEST",
    "MAX_EVENTS_REQUEST_BYTES",
    "MAX_EVENT_BYTES",
    "MAX_EVENT_PAGE_BYTES",
    "MAX_HOSTS",
    "MAX_HOST_LENGTH",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_METADATA_KEYS",
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_VALUE_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PACKAGES",
    "MAX_PACKAGE_LENGTH",
    "MAX_SETUP_SCRIPT_BYTES",
    "MAX_TITLE_LENGTH",
    "MAX_WORKER_ID_LENGTH",
    "PRINTABLE",
    "QUOTE_LENGTH",
    "clip",
    "json_size_within",
    "quote",
]

# environments
MAX_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 2048
MAX_HOSTS = 256  # config.networking.allowed_hosts entries
MAX_HOST_LENGTH = 255  # one allowed_hosts entry (a DNS name is at most 253, plus a port)
MAX_PACKAGES = 512  # entries of each of config.packages.apt / pip / npm
MAX_PACKAGE_LENGTH = 256  # one package entry ("numpy>=1.26,<3", "git+https://…")
MAX_SETUP_SCRIPT_BYTES = 64 * 1024

# sessions
MAX_AGENT_ID_LENGTH = 256  # agent given as a string
MAX_AGENT_BYTES = 64 * 1024  # agent given as an object (an inline definition), as JSON
MAX_TITLE_LENGTH = 1024

# metadata (spec/conventions.md)
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_VALUE_LENGTH = 512

# events: one event's JSON, and all events of one request together
MAX_EVENTS_PER_REQUEST = 100
MAX_EVENT_BYTES = 2 * 1024 * 1024
MAX_EVENTS_REQUEST_BYTES = 16 * 1024 * 1024
# a page of listed events: their stored JSON together (the first event always fits)
MAX_EVENT_PAGE_BYTES = 8 * 1024 * 1024

# headers: "printable characters" (spec/work.md) are printable ASCII, space to tilde (C's isprint);
# one regex character class, read by the server's checks and written into the OpenAPI document
PRINTABLE = r"[\x20-\x7e]"
MAX_WORKER_ID_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 255

# error messages quote at most this many characters of what the client sent
QUOTE_LENGTH = 100

_SCALAR_SIZES = {True: 4, False: 5}


def clip(text: str, limit: int = QUOTE_LENGTH) -> str:
    """``text`` cut to ``limit`` characters (plus ``…``): what an error message may echo."""
    return text if len(text) <= limit else text[:limit] + "…"


def quote(value: str, limit: int = QUOTE_LENGTH) -> str:
    """``value`` for an error message: the ``repr`` of at most ``limit`` of its characters."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"


def json_size_within(value: Any, budget: int) -> int | None:
    """The compact UTF-8 JSON size of ``value`` if it is at most ``budget`` bytes, else ``None``.

    The walk stops as soon as the budget is spent; a string longer than what is left is rejected
    by its length alone (a character is at least one byte), so the work done is O(budget).
    """
    used = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        used += _shallow_size(item, budget - used, stack)
        if used > budget:
            return None
    return used


def _shallow_size(item: Any, left: int, stack: list[Any]) -> int:
    """The bytes ``item`` adds itself (children go on ``stack``); over ``left`` → ``left + 1``."""
    if isinstance(item, str):
        if len(item) + 2 > left:
            return left + 1
        return _string_size(item)
    if isinstance(item, dict):
        if 2 * len(item) > left:  # every member needs at least a key's quotes and a colon
            return left + 1
        stack.extend(item.values())
        stack.extend(item.keys())
        return 2 + 2 * len(item) - (1 if item else 0)  # braces, colons, commas
    if isinstance(item, list):
        if len(item) > left:
            return left + 1
        stack.extend(item)
        return 2 + max(len(item) - 1, 0)  # brackets, commas
    if item is None:
        return 4
    if isinstance(item, bool):
        return _SCALAR_SIZES[item]
    if isinstance(item, int):
        return len(str(item))
    if isinstance(item, float):
        return len(repr(item))
    return left + 1  # not JSON


# bytes JSON escapes: two-character escapes add 1 byte, \u00XX escapes add 5
_EXTRA = dict.fromkeys(range(32), 5) | dict.fromkeys(b'"\\\x08\x0c\n\r\t', 1)
_NOT_ESCAPED = bytes(b for b in range(256) if b not in _EXTRA)


def _string_size(text: str) -> int:
    """The UTF-8 size of ``text`` as a JSON string (quotes and escapes included)."""
    raw = text.encode("utf-8", "surrogatepass")
    escaped = raw.translate(None, _NOT_ESCAPED)  # only the bytes that need an escape
    return len(raw) + 2 + sum(_EXTRA[b] for b in escaped)
