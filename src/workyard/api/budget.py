"""One bound on the request-body bytes the whole process holds at once.

Each body is already limited (``WORKYARD_MAX_BODY_BYTES``), but many concurrent large bodies are
not: 10,000 connections × 32 MiB is no bound at all. Bodies larger than ``SMALL_BODY`` draw on one
process-wide budget (``WORKYARD_MAX_BODY_BUFFER_BYTES``) as their bytes *arrive* (never by the
length they declare, which would let a client reserve the budget without sending anything); a body
that would overdraw it is answered 503 ``overloaded_error`` with ``Retry-After``. Smaller bodies,
the whole hot path, are left alone: the connection cap bounds them (10,000 × 64 KiB).
"""

from __future__ import annotations

from starlette.types import Message, Receive

from workyard.api.inputs import BodyTooLargeError
from workyard.errors import OverloadedError

__all__ = ["SMALL_BODY", "BodyBudget", "BudgetedReceive", "BufferFullError"]

SMALL_BODY = 64 * 1024


class BufferFullError(OverloadedError):
    default_message = (
        "The server is receiving too many large request bodies at once; retry shortly."
    )


class BodyBudget:
    """Bytes of large request bodies held at once by this process."""

    __slots__ = ("held", "limit", "refused")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.refused = 0  # bodies answered 503 (observability, tests)

    def take(self, size: int) -> bool:
        if self.held + size > self.limit:
            self.refused += 1
            return False
        self.held += size
        return True

    def give(self, size: int) -> None:
        self.held -= size


class BudgetedReceive:
    """``receive`` that counts a body against its own limit and the process-wide budget.

    ``limit`` is the per-body limit when the body's length was not declared (``None``: the server
    already delivers no more than a declared length). Call :meth:`release` once the request is done.
    """

    __slots__ = ("_budget", "_held", "_limit", "_receive", "_seen")

    def __init__(self, receive: Receive, budget: BodyBudget, limit: int | None) -> None:
        self._receive = receive
        self._budget = budget
        self._limit = limit
        self._seen = 0
        self._held = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            size = len(message.get("body", b""))
            self._seen += size
            if self._limit is not None and self._seen > self._limit:
                raise BodyTooLargeError()
            if self._seen > SMALL_BODY:
                owed = self._seen - self._held
                if not self._budget.take(owed):
                    raise BufferFullError()
                self._held = self._seen
        return message

    def release(self) -> None:
        self._budget.give(self._held)
        self._held = 0
