"""Prefixed UUIDv7 identifiers, strictly increasing within one process."""

from __future__ import annotations

import re
import secrets
import threading
import time

__all__ = ["PREFIXES", "IdGenerator", "id_after", "is_id", "new_id"]

PREFIXES = frozenset({"env", "work", "sess", "evt", "tok"})
_RAND_BITS = 74  # 12 bits of rand_a + 62 bits of rand_b
_RAND_MASK = (1 << _RAND_BITS) - 1
_ID_RE = {p: re.compile(rf"^{p}_[0-9a-f]{{32}}\Z") for p in PREFIXES}


class IdGenerator:
    """UUIDv7 with a monotonic counter: a new id is always greater than the previous one.

    Within one millisecond (or if the wall clock steps back) the 74 random bits are incremented by a
    random step, so ids stay unguessable and strictly increasing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_rand = 0

    def next_uuid_int(self) -> int:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                rand = secrets.randbits(_RAND_BITS - 2)  # headroom for increments
            else:
                ms = self._last_ms
                rand = self._last_rand + 1 + secrets.randbits(16)
                if rand > _RAND_MASK:  # counter exhausted: borrow the next millisecond
                    ms += 1
                    rand = secrets.randbits(_RAND_BITS - 2)
            self._last_ms, self._last_rand = ms, rand
        rand_a = rand >> 62
        rand_b = rand & ((1 << 62) - 1)
        return (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b

    def new(self, prefix: str) -> str:
        if prefix not in PREFIXES:
            raise ValueError(f"unknown id prefix {prefix!r}")
        return f"{prefix}_{self.next_uuid_int():032x}"


_default = IdGenerator()


def new_id(prefix: str) -> str:
    """A new ``<prefix>_<32 hex>`` id from the process-wide generator."""
    return _default.new(prefix)


def id_after(prefix: str, previous: str | None) -> str:
    """A new id that is greater than ``previous`` even if another process issued it."""
    candidate = new_id(prefix)
    if previous is None or candidate > previous:
        return candidate
    return f"{prefix}_{int(previous.split('_', 1)[1], 16) + 1:032x}"


def is_id(prefix: str, value: str) -> bool:
    """Whether ``value`` has the shape of an id with this prefix."""
    return bool(_ID_RE[prefix].match(value))
