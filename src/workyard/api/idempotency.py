"""``Idempotency-Key`` on every POST under ``/api/v1/cloud`` (docs/api.md, "Idempotent requests").

A raw ASGI wrapper around the routes. For a keyed POST by an authenticated token it:

1. validates the key (1-255 printable ASCII characters, else 400 ``param: "Idempotency-Key"``);
2. hashes method, path, query and body; a live row for (token, key) with another hash → 400;
   a finished row → its status and body again, with ``Idempotent-Replayed: true``; a row still in
   flight → waits up to a few seconds for its response, then 409;
3. otherwise runs the request with a claim (``store/idempotency.py``): the request's first
   commit inserts the key in the same transaction. A rival that committed first makes that commit
   fail; the request then answers the rival's response (step 2);
4. once the response is complete and the request wrote something, stores status and body on the
   key's row before sending it. Requests that wrote nothing store nothing: a retry runs anew and
   gets the same answer (a validation error, or a no-op).

Keys live 24 hours of the server clock; expired rows are ignored, replaced on reuse, and deleted
in small batches at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workyard.api.middleware import envelope_bytes, request_id_of
from workyard.api.routes.common import authenticate_scope
from workyard.domain.limits import MAX_IDEMPOTENCY_KEY_LENGTH, PRINTABLE
from workyard.errors import InvalidRequestError, OverloadedError, WorkyardError
from workyard.service.container import Services
from workyard.store import StoreUnavailableError
from workyard.store.idempotency import (
    CLAIM,
    IdempotencyClaim,
    IdempotencyConflictError,
    StoredResponse,
)

__all__ = ["KEY_TTL_US", "IdempotencyMiddleware", "is_keyed"]

KEY_TTL_US = 24 * 3600 * 1_000_000
PARAM = "Idempotency-Key"
_KEY_RE = re.compile(rf"^{PRINTABLE}{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}\Z")
_PREFIX = "/api/v1/cloud/"
_WAIT_SECONDS = 5.0
_PRUNE_EVERY_US = 60 * 1_000_000
_PRUNE_BATCH = 500


class IdempotencyMiddleware:
    """Replays keyed POSTs; see the module docstring."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self._pruned_at: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _keyed(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        token_id = await self._token_id(scope)
        if token_id is None:  # no valid token: the route answers 401 (or 503)
            await self.app(scope, receive, send)
            return
        try:
            if not _KEY_RE.match(key):
                raise InvalidRequestError(
                    f"{PARAM} must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters",
                    param=PARAM,
                )
            body = await _read_body(receive)
            await self._keyed(scope, receive, send, token_id, key, body)
        except WorkyardError as exc:
            await _send_error(scope, send, exc)
        except StoreUnavailableError:
            await _send_error(scope, send, _unavailable())

    async def _token_id(self, scope: Scope) -> str | None:
        """The caller's token id; the route reuses this authentication (once per request)."""
        try:
            principal = await authenticate_scope(scope, self.services.tokens)
        except (WorkyardError, StoreUnavailableError):
            return None
        return principal.token_id

    async def _keyed(
        self, scope: Scope, receive: Receive, send: Send, token_id: str, key: str, body: bytes
    ) -> None:
        now = self.services.clock.now()
        claim = IdempotencyClaim(token_id, key, _request_hash(scope, body), now, now - KEY_TTL_US)
        store = self.services.store
        stored = await store.get_idempotency(token_id, key, claim.expired_before)
        if stored is not None:
            await self._answer_stored(scope, send, claim, stored)
            return
        messages = await self._run(scope, receive, claim, body)
        if claim.lost:
            stored = await store.get_idempotency(token_id, key, claim.expired_before)
            await self._answer_stored(scope, send, claim, stored)
            return
        if claim.written:
            status, content = _response_of(messages)
            # if this fails the write stands; a retry finds the key in flight and gets 409
            with contextlib.suppress(StoreUnavailableError):
                await store.finish_idempotency(claim, status, content)
        for message in messages:
            await send(message)
        await self._prune(now)

    async def _run(
        self, scope: Scope, receive: Receive, claim: IdempotencyClaim, body: bytes
    ) -> list[Message]:
        """Run the route with ``claim`` set; return its response messages (not yet sent)."""
        messages: list[Message] = []
        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            messages.append(message)

        claim.task = asyncio.current_task()
        token = CLAIM.set(claim)
        try:
            await self.app(scope, replay_receive, capture)
        except IdempotencyConflictError:
            claim.lost = True
        finally:
            CLAIM.reset(token)
        return messages

    async def _answer_stored(
        self, scope: Scope, send: Send, claim: IdempotencyClaim, stored: StoredResponse | None
    ) -> None:
        if stored is not None and stored.request_hash != claim.request_hash:
            raise InvalidRequestError(
                f"This {PARAM} was already used with a different request (method, path or body).",
                param=PARAM,
            )
        stored = await self._finished(claim, stored)
        if stored is None or stored.status is None or stored.body is None:
            raise IdempotencyConflictError(param=PARAM)
        await _send_replay(send, stored.status, stored.body)

    async def _finished(
        self, claim: IdempotencyClaim, stored: StoredResponse | None
    ) -> StoredResponse | None:
        """``stored`` once its request has finished, or as it is after a few seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _WAIT_SECONDS
        delay = 0.005
        while stored is not None and stored.status is None and loop.time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
            stored = await self.services.store.get_idempotency(
                claim.token_id, claim.key, claim.expired_before
            )
        return stored

    async def _prune(self, now: int) -> None:
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY_US:
            return
        self._pruned_at = now
        with contextlib.suppress(StoreUnavailableError):
            await self.services.store.prune_idempotency(now - KEY_TTL_US, _PRUNE_BATCH)


def is_keyed(scope: Scope) -> bool:
    """Whether the request is an API POST with an ``Idempotency-Key`` header."""
    return _keyed(scope) is not None


def _keyed(scope: Scope) -> str | None:
    """The raw ``Idempotency-Key`` of an API POST, else ``None``."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    if not str(scope["path"]).startswith(_PREFIX):
        return None
    return _header(scope, b"idempotency-key")


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes:
    """The whole body (the outer middleware enforces the size limit while it is read)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise InvalidRequestError("The client closed the request before sending its body.")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _request_hash(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (b"POST", str(scope["path"]).encode(), bytes(scope.get("query_string", b""))):
        digest.update(part + b"\n")
    digest.update(body)
    return digest.hexdigest()


def _response_of(messages: list[Message]) -> tuple[int, bytes]:
    status = 500
    chunks: list[bytes] = []
    for message in messages:
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
    return status, b"".join(chunks)


async def _send_replay(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _unavailable() -> WorkyardError:
    return OverloadedError("The store is unavailable; retry later.")


async def _send_error(scope: Scope, send: Send, error: WorkyardError) -> None:
    body = envelope_bytes(request_id_of(scope), error.to_error_body())
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
