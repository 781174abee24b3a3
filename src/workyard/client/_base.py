"""The SDK's core, with no I/O: request specs, configuration, retry policy, response decoding.

An endpoint is a function returning a :class:`Call`: the :class:`RequestSpec` to send and the
decoder of its JSON answer (see ``_endpoints``). The sync and async clients only send the request,
apply the :class:`RetryPolicy` and hand the answer to :func:`decode_response`.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from workyard.client._models import Page, ResponseShapeError, expect_object
from workyard.client._sse import (
    ReconnectPolicy,
    ServerSentEvent,
    StreamCursor,
    is_retryable_status,
    stream_headers,
)
from workyard.errors import APIError, WorkyardError, error_class_for

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "Call",
    "ClientConfig",
    "NotGiven",
    "RequestSpec",
    "RetryPolicy",
    "StreamCall",
    "decode_response",
    "decode_stream_event",
    "error_from_response",
    "next_page_call",
    "normalize_base_url",
    "object_decoder",
    "optional_decoder",
    "page_decoder",
    "path",
    "resolve_token",
    "stream_status",
]

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1/cloud"
USER_AGENT = "workyard-python"

Params = tuple[tuple[str, str], ...]


class NotGiven:
    """Sentinel for "argument omitted", where ``None`` is a meaningful value (it clears a field)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request, relative to the API prefix. ``body`` ``None`` means no body."""

    method: str
    path: str
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = field(default=None, hash=False)
    idempotent: bool = False

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((value for key, value in self.params if key == name), None)

    def param_values(self, name: str) -> list[str]:
        """Every value of query parameter ``name`` (in order)."""
        return [value for key, value in self.params if key == name]


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and the decoder of its JSON answer."""

    request: RequestSpec
    decode: Callable[[object], T]


ReconnectHook = Callable[[str, float], None]
"""Called before each reconnection with the reason and the delay in seconds."""


@dataclass(frozen=True)
class StreamCall(Generic[T]):
    """A resumable Server-Sent Events request: ``decode`` turns a frame into a result, or
    ``None`` to skip it; ``last_event_id`` is where to resume from (``None``: the beginning)."""

    request: RequestSpec
    decode: Callable[[ServerSentEvent], T | None]
    last_event_id: str | None = None
    policy: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    on_reconnect: ReconnectHook | None = field(default=None, compare=False)

    def cursor(self) -> StreamCursor:
        return StreamCursor(self.policy, self.last_event_id)

    def connection(self, cursor: StreamCursor) -> RequestSpec:
        """The request of the next connection: ``Last-Event-ID`` is the cursor's."""
        return replace(self.request, headers=stream_headers(cursor.last_event_id))

    def reconnecting(self, reason: str, delay: float) -> None:
        if self.on_reconnect is not None:
            self.on_reconnect(reason, delay)


def stream_status(
    status: int, headers: Mapping[str, str], content: bytes, *, first: bool
) -> str | None:
    """What a non-200 answer to a stream connection means: a reason to reconnect (408, 429,
    5xx), ``None`` to end the stream (404 once connected before: the session is gone), or it
    raises the error (any other status, and a 404 on the first connection)."""
    if status == 404 and not first:
        return None
    if is_retryable_status(status):
        return f"HTTP {status}"
    raise error_from_response(status, headers, content)


def decode_stream_event(call: StreamCall[T], event: ServerSentEvent) -> T | None:
    """``call.decode(event)``, with a malformed frame reported as :class:`APIError`."""
    try:
        return call.decode(event)
    except (ValueError, ResponseShapeError) as exc:
        raise APIError(f"Unexpected event from the server: {exc}.", status=200) from None


def path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` replaced by one percent-encoded path segment."""
    return template.format(*(quote(value, safe="") for value in ids))


def normalize_base_url(base_url: str) -> str:
    """The API root: ``base_url`` without a trailing slash, ending with ``/api/v1/cloud``."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://: {base_url!r}")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def resolve_token(token: str | None, environ: Mapping[str, str]) -> str | None:
    """``token``, else ``WORKYARD_TOKEN``, else ``QODER_PAT`` (empty values count as unset)."""
    for candidate in (token, environ.get("WORKYARD_TOKEN"), environ.get("QODER_PAT")):
        if candidate:
            return candidate.strip()
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for connection errors, 429 and 5xx on idempotent calls."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25

    def delay(
        self,
        request: RequestSpec,
        attempt: int,
        status: int | None,
        retry_after: str | None = None,
    ) -> float | None:
        """Seconds to wait before retrying, or ``None`` not to retry.

        ``attempt`` counts retries already made; ``status`` is ``None`` for a connection error.
        """
        if not request.idempotent or attempt >= self.max_retries:
            return None
        if status is not None and status != 429 and status < 500:
            return None
        hinted = _parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay)
        base = min(self.initial_delay * 2.0**attempt, self.max_delay)
        return base * (1 + self.jitter * random.random())  # jitter, not crypto


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


@dataclass(frozen=True)
class ClientConfig:
    """Where and how to connect: API root URL, token, timeout, retry policy."""

    base_url: str = DEFAULT_BASE_URL + API_PREFIX
    token: str | None = None
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def resolve(
        cls,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Explicit arguments first, then ``WORKYARD_URL`` / ``WORKYARD_TOKEN`` / ``QODER_PAT``."""
        env = os.environ if environ is None else environ
        url = base_url or env.get("WORKYARD_URL") or DEFAULT_BASE_URL
        return cls(
            base_url=normalize_base_url(url),
            token=resolve_token(token, env),
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
        )

    def url(self, request: RequestSpec) -> str:
        """The absolute URL of ``request`` (without its query string)."""
        return self.base_url + request.path

    def headers(self, request: RequestSpec) -> dict[str, str]:
        """Authorization, content negotiation and the request's own headers."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(request.headers)
        return headers

    def content(self, request: RequestSpec) -> bytes | None:
        """The request body, encoded as JSON."""
        if request.body is None:
            return None
        return json.dumps(request.body, ensure_ascii=False, separators=(",", ":")).encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _load_json(content: bytes) -> object:
    return json.loads(content.decode("utf-8"))


def error_from_response(status: int, headers: Mapping[str, str], content: bytes) -> WorkyardError:
    """The :class:`WorkyardError` for a non-2xx answer, from its envelope when it has one."""
    cls = error_class_for(status)
    request_id = _header(headers, "x-request-id")
    try:
        payload = _load_json(content) if content else None
    except ValueError:
        payload = None
    if isinstance(payload, Mapping) and isinstance(payload.get("error"), Mapping):
        error = payload["error"]
        message = error.get("message")
        param = error.get("param")
        envelope_id = payload.get("request_id")
        return cls(
            message if isinstance(message, str) else None,
            param=param if isinstance(param, str) else None,
            request_id=envelope_id if isinstance(envelope_id, str) else request_id,
            status=status,
        )
    return cls(
        _fallback_message(cls, status, payload, content), request_id=request_id, status=status
    )


def _fallback_message(
    cls: type[WorkyardError], status: int, payload: object, content: bytes
) -> str:
    """A message for an error body that is not the envelope (e.g. a proxy's HTML page)."""
    detail = payload.get("detail") if isinstance(payload, Mapping) else None
    if isinstance(detail, str) and detail:
        return detail
    text = content.decode("utf-8", errors="replace").strip()
    snippet = " ".join(text.split())[:200]
    suffix = f": {snippet}" if snippet else ""
    return f"{cls.default_message} (HTTP {status}{suffix})"


def decode_response(call: Call[T], status: int, headers: Mapping[str, str], content: bytes) -> T:
    """The decoded result of ``call`` for this answer, or raise the matching error."""
    if not 200 <= status < 300:
        raise error_from_response(status, headers, content)
    request_id = _header(headers, "x-request-id")
    try:
        payload = _load_json(content) if content.strip() else None
    except ValueError:
        raise APIError(
            "The server sent a response that is not valid JSON.",
            request_id=request_id,
            status=status,
        ) from None
    try:
        return call.decode(payload)
    except ResponseShapeError as exc:
        raise APIError(
            f"Unexpected response from the server: {exc}.", request_id=request_id, status=status
        ) from None


def next_page_call(call: Call[Page[T]], page: Page[T]) -> Call[Page[T]] | None:
    """The call that fetches the page after ``page`` (same filters and limit), or ``None``."""
    if not page.has_more or not page.next_page:
        return None
    request = call.request
    if request.param("page") == page.next_page:
        raise APIError("The server's pagination cursor did not advance.", status=200)
    kept = tuple((k, v) for k, v in request.params if k not in {"page", "after_id", "before_id"})
    params = (*kept, ("page", page.next_page))
    return replace(call, request=replace(request, params=params))


def object_decoder(from_dict: Callable[[Mapping[str, Any]], T]) -> Callable[[object], T]:
    """A decoder that requires a JSON object and builds a model from it."""

    def decode(value: object) -> T:
        return from_dict(expect_object(value))

    return decode


def optional_decoder(from_dict: Callable[[Mapping[str, Any]], T]) -> Callable[[object], T | None]:
    """Like :func:`object_decoder`, but JSON ``null`` (or an empty body) decodes to ``None``."""

    def decode(value: object) -> T | None:
        return None if value is None else from_dict(expect_object(value))

    return decode


def page_decoder(from_dict: Callable[[Mapping[str, Any]], T]) -> Callable[[object], Page[T]]:
    """A decoder of a list page whose entries are built by ``from_dict``."""

    def decode(value: object) -> Page[T]:
        return Page.from_dict(expect_object(value), from_dict)

    return decode
