"""Request parsing with the spec's strict rules; every failure names its parameter."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from workyard.clock import Instant, parse_ts
from workyard.domain.limits import MAX_WORKER_ID_LENGTH, PRINTABLE, clip
from workyard.errors import InvalidRequestError, NotFoundError
from workyard.ids import is_id

__all__ = [
    "BodyTooLargeError",
    "body_bool",
    "body_object",
    "body_str",
    "path_id",
    "query_bool",
    "query_int",
    "query_str",
    "query_ts",
    "read_body",
    "worker_id_header",
]

_INT_RE = re.compile(r"^-?[0-9]+\Z")
_WORKER_ID_RE = re.compile(rf"^{PRINTABLE}{{1,{MAX_WORKER_ID_LENGTH}}}\Z")
_MISSING = object()


class BodyTooLargeError(InvalidRequestError):
    default_message = "Request body too large."


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


async def read_body(request: Request, *, required: bool = False) -> dict[str, Any]:
    """The JSON object body; an empty body is ``{}`` unless ``required``."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise InvalidRequestError("Request body must be a JSON object.")
        return {}
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
        if "\\u" in text:  # an escape may encode a lone surrogate, which no store can hold
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise InvalidRequestError("Request body must be valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("Request body must be a JSON object.")
    return value


def body_str(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    nullable: bool = False,
    min_len: int = 0,
    max_len: int | None = None,
) -> Any:
    """A string field; returns ``_MISSING``-free values: the string, ``None`` (if nullable)."""
    if name not in body:
        if required:
            raise InvalidRequestError(f"{name} is required", param=name)
        return None
    value = body[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string", param=name)
    if "\x00" in value:
        raise InvalidRequestError(f"{name} must not contain NUL (U+0000) characters", param=name)
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        limit = f"at most {max_len}" if min_len == 0 else f"{min_len} to {max_len}"
        raise InvalidRequestError(f"{name} must be {limit} characters long", param=name)
    return value


def body_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be a boolean (true or false)", param=name)
    return value


def body_object(body: dict[str, Any], name: str) -> Any:
    """The raw value of an object field (validated by the domain)."""
    return body.get(name)


def query_str(request: Request, name: str) -> str | None:
    return request.query_params.get(name)


def query_int(
    request: Request,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    message: str | None = None,
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    expected = message or _range_text(name, minimum, maximum)
    if not _INT_RE.match(raw):
        raise InvalidRequestError(expected, param=name)
    try:
        value = int(raw)
    except ValueError:  # more digits than Python converts: far out of any range
        raise InvalidRequestError(expected, param=name) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidRequestError(expected, param=name)
    return value


def _range_text(name: str, minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{name} must be an integer from {minimum} to {maximum}"
    if minimum is not None:
        return f"{name} must be an integer greater than or equal to {minimum}"
    return f"{name} must be an integer"


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise InvalidRequestError(f"{name} must be true or false", param=name)


def query_ts(request: Request, name: str) -> Instant | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return parse_ts(raw)
    except ValueError:
        raise InvalidRequestError(
            f"{name} must be an RFC 3339 timestamp such as 2026-07-01T08:16:06Z", param=name
        ) from None


def path_id(prefix: str, value: str, what: str) -> str:
    """A path id; a wrong prefix or shape is a 404 (it cannot exist)."""
    if not is_id(prefix, value):
        raise NotFoundError(f"{what} {clip(value)} not found.")
    return value


def worker_id_header(request: Request) -> str | None:
    raw = request.headers.get("worker-id")
    if raw is None:
        return None
    if not _WORKER_ID_RE.match(raw):
        raise InvalidRequestError(
            f"Worker-ID must be 1 to {MAX_WORKER_ID_LENGTH} printable ASCII characters",
            param="Worker-ID",
        )
    return raw
