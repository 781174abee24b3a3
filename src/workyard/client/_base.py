"""The SDK's core, with no I/O: request specs, per-request options, response decoding, paging.

An endpoint is a function returning a :class:`Call`: the :class:`RequestSpec` to send and the
decoder of its JSON answer (see ``_endpoints``). The sync and async clients only send the request
(``_config`` builds it, ``_retry`` decides about retries) and hand the answer to
:func:`decode_response`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from workyard.client._errors import APIResponseValidationError, APIStatusError, status_error
from workyard.client._models import Page, ResponseShapeError, expect_object
from workyard.client._sse import (
    ReconnectPolicy,
    ServerSentEvent,
    StreamCursor,
    is_retryable_status,
    stream_headers,
)

__all__ = [
    "API_PREFIX",
    "NOT_GIVEN",
    "Call",
    "NotGiven",
    "RequestOptions",
    "RequestSpec",
    "StreamCall",
    "Timeout",
    "call",
    "decode_response",
    "decode_stream_event",
    "error_from_response",
    "next_page_call",
    "object_decoder",
    "optional_decoder",
    "page_decoder",
    "path",
    "stream_status",
]

T = TypeVar("T")

API_PREFIX = "/api/v1/cloud"

Params = tuple[tuple[str, str], ...]
Timeout = float | httpx.Timeout | None
"""Seconds for every phase, an ``httpx.Timeout`` (e.g. ``Timeout(600, connect=5)``), or none."""


class NotGiven:
    """Sentinel for "argument omitted", where ``None`` is a meaningful value (it clears a field)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


class RequestOptions(TypedDict, total=False):
    """Per-request options every operation takes, as ``qca-sdk``'s: ``extra_headers`` and
    ``extra_query`` are added to (and override) the request's own, ``extra_body`` is merged into
    a JSON body, ``timeout`` replaces the client's for this request (``None``: no timeout)."""

    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None
    timeout: Timeout | NotGiven


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request, relative to the API prefix. ``body`` ``None`` means no body;
    ``timeout`` ``NOT_GIVEN`` means the client's."""

    method: str
    path: str
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = field(default=None, hash=False)
    timeout: Timeout | NotGiven = field(default=NOT_GIVEN, compare=False, hash=False)

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((value for key, value in self.params if key == name), None)

    def param_values(self, name: str) -> list[str]:
        """Every value of query parameter ``name`` (in order)."""
        return [value for key, value in self.params if key == name]

    def header(self, name: str) -> str | None:
        """The request's own header ``name`` (case-insensitive)."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def with_options(self, options: RequestOptions) -> RequestSpec:
        """This request with per-request ``options`` applied."""
        extra_query = _query_pairs(options.get("extra_query") or {})
        replaced = {key for key, _ in extra_query}
        params = (*((k, v) for k, v in self.params if k not in replaced), *extra_query)
        extra_headers = {k.lower(): (k, v) for k, v in (options.get("extra_headers") or {}).items()}
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in extra_headers)
        headers = (*kept, *extra_headers.values())
        body = self.body
        extra_body = options.get("extra_body")
        if extra_body:
            body = {**(body or {}), **extra_body}
        timeout = options.get("timeout", NOT_GIVEN)
        timeout = self.timeout if isinstance(timeout, NotGiven) else timeout
        return replace(self, params=params, headers=headers, body=body, timeout=timeout)


def _query_pairs(query: Mapping[str, Any]) -> Params:
    """Query parameters from a mapping: lists repeat the key, ``None`` is left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None or isinstance(item, NotGiven):
                continue
            text = str(item).lower() if isinstance(item, bool) else str(item)
            pairs.append((key, text))
    return tuple(pairs)


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and the decoder of its JSON answer."""

    request: RequestSpec
    decode: Callable[[object], T]


def call(request: RequestSpec, decode: Callable[[object], T], options: RequestOptions) -> Call[T]:
    """The :class:`Call` of ``request`` with its per-request ``options`` applied."""
    return Call(request.with_options(options) if options else request, decode)


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
        own = stream_headers(cursor.last_event_id)
        names = {"accept", "cache-control", "last-event-id"}
        kept = tuple((k, v) for k, v in self.request.headers if k.lower() not in names)
        return replace(self.request, headers=(*own, *kept))

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
    """``call.decode(event)``, a malformed frame raising :class:`APIResponseValidationError`."""
    try:
        return call.decode(event)
    except (ValueError, ResponseShapeError) as exc:
        raise APIResponseValidationError(
            status_code=200, body=event.data, message=f"Unexpected event from the server: {exc}."
        ) from None


def path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` replaced by one percent-encoded path segment."""
    return template.format(*(quote(value, safe="") for value in ids))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _error_body(content: bytes) -> object:
    """An error answer's body as ``qca-sdk`` keeps it: the JSON value, else the text."""
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    response: httpx.Response | None = None,
) -> APIStatusError:
    """The :class:`APIStatusError` subclass for a non-2xx answer (:func:`status_error`)."""
    return status_error(status, _error_body(content), headers, response=response)


def decode_response(
    call: Call[T],
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    response: httpx.Response | None = None,
) -> T:
    """The decoded result of ``call`` for this answer, or raise the matching error."""
    if not 200 <= status < 300:
        raise error_from_response(status, headers, content, response)
    request_id = _header(headers, "x-request-id")
    text = content.decode("utf-8", errors="replace")
    try:
        payload = json.loads(text) if text.strip() else None
    except ValueError:
        raise APIResponseValidationError(
            status_code=status,
            body=text,
            message="The server sent a response that is not valid JSON.",
            request_id=request_id,
            response=response,
        ) from None
    try:
        return call.decode(payload)
    except ResponseShapeError as exc:
        raise APIResponseValidationError(
            status_code=status,
            body=payload,
            message=f"Unexpected response from the server: {exc}.",
            request_id=request_id,
            response=response,
        ) from None


def next_page_call(call: Call[Page[T]], page: Page[T]) -> Call[Page[T]] | None:
    """The call that fetches the page after ``page`` (same filters and limit), or ``None``."""
    if not page.has_more or not page.next_page:
        return None
    request = call.request
    if request.param("page") == page.next_page:
        raise APIResponseValidationError(
            status_code=200, body=page.raw, message="The pagination cursor did not advance."
        )
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
