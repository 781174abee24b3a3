"""Per-request context read in one pass over the headers: the request id and the body limit.

Request ids: the client's ``x-request-id`` when it is sane, otherwise a generated UUID (version 8,
RFC 9562): 60 random bits fixed per process (drawn again after a fork) and a 62-bit counter, so
ids stay unique across processes and replicas without drawing random bytes per request.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from typing import Any

from starlette.types import Scope

__all__ = [
    "envelope_bytes",
    "new_request_id",
    "read_request_headers",
    "request_id_of",
]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_VARIANT = 1 << 63


def _process_prefix() -> str:
    random = os.urandom(8).hex()
    return f"{random[:8]}-{random[8:12]}-8{random[12:15]}-"


_prefix = _process_prefix()
_counter = itertools.count(1)


def _after_fork() -> None:
    global _prefix, _counter
    _prefix, _counter = _process_prefix(), itertools.count(1)


os.register_at_fork(after_in_child=_after_fork)


def new_request_id() -> str:
    """A process-unique UUID-shaped id: no system call, no UUID object."""
    tail = f"{_VARIANT | (next(_counter) & (_VARIANT - 1)):016x}"
    return f"{_prefix}{tail[:4]}-{tail[4:]}"


def read_request_headers(scope: Scope) -> tuple[str, int, bool]:
    """One pass over the headers: (request id, declared length, whether to count body bytes).

    Bytes are counted when no valid ``content-length`` frames the body (the server delivers no
    more than a declared length).
    Stores the id in ``scope["state"]["request_id"]`` (what :func:`request_id_of` reads).
    """
    rid: str | None = None
    length = -1
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length" and length == -1:
            try:
                length = int(value)
            except ValueError:
                length, chunked = 0, True
        elif name == b"x-request-id" and rid is None:
            text = value.decode("latin-1")
            rid = text if _REQUEST_ID_RE.match(text) else ""
        elif name == b"transfer-encoding":
            chunked = True
    if not rid:
        rid = new_request_id()
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state["request_id"] = rid
    return rid, length, chunked or length < 0


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        rid = state["request_id"] = new_request_id()
    return str(rid)


def envelope_bytes(request_id: str, error: dict[str, Any]) -> bytes:
    body = {"type": "error", "request_id": request_id, "error": error}
    return json.dumps(body, separators=(",", ":")).encode()
