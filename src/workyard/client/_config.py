"""Client configuration and the HTTP request it builds from a :class:`RequestSpec` (no I/O).

Resolution order: explicit arguments, then ``WORKYARD_URL`` / ``WORKYARD_TOKEN``, then the
``qca-sdk`` variables ``QODER_MANAGED_BASE_URL`` / ``QODER_ACCESS_TOKEN`` (and ``QODER_PAT``),
then ``http://127.0.0.1:8080``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, Unpack

import httpx

from workyard.client._base import API_PREFIX, NotGiven, RequestSpec, Timeout
from workyard.client._retry import RetryPolicy

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "ClientConfig",
    "ClientOptions",
    "PreparedRequest",
    "merge_headers",
    "normalize_base_url",
    "resolve_token",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
"""As ``qca-sdk``: 5 s to connect, 600 s for each read, write and pool wait."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("workyard")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0"


USER_AGENT = f"workyard-python/{_version()}"


def normalize_base_url(base_url: str) -> str:
    """The API root: ``base_url`` without a trailing slash, ending with ``/api/v1/cloud``."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://: {base_url!r}")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def resolve_token(token: str | None, environ: Mapping[str, str]) -> str | None:
    """``token``, else ``WORKYARD_TOKEN``, ``QODER_ACCESS_TOKEN``, ``QODER_PAT`` (empty values
    count as unset)."""
    names = ("WORKYARD_TOKEN", "QODER_ACCESS_TOKEN", "QODER_PAT")
    for candidate in (token, *(environ.get(name) for name in names)):
        if candidate:
            return candidate.strip()
    return None


def resolve_base_url(base_url: str | None, environ: Mapping[str, str]) -> str:
    """``base_url``, else ``WORKYARD_URL``, ``QODER_MANAGED_BASE_URL``, the local default."""
    url = base_url or environ.get("WORKYARD_URL") or environ.get("QODER_MANAGED_BASE_URL")
    return normalize_base_url(url or DEFAULT_BASE_URL)


def merge_headers(headers: Mapping[str, str], extra: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``headers`` with ``extra`` set over them, names compared case-insensitively."""
    merged = dict(headers)
    for key, value in extra:
        for existing in [k for k in merged if k.lower() == key.lower()]:
            del merged[existing]
        merged[key] = value
    return merged


@dataclass(frozen=True)
class PreparedRequest:
    """What the transport sends: absolute URL, query, headers, body bytes and timeout."""

    method: str
    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    content: bytes | None
    timeout: Timeout

    @property
    def idempotency_key(self) -> str | None:
        key: str | None = httpx.Headers(self.headers).get("idempotency-key")
        return key

    def with_retry_count(self, attempt: int) -> PreparedRequest:
        """The same request, numbered as retry ``attempt`` (``X-Qoder-Retry-Count``)."""
        headers = merge_headers(self.headers, [("X-Qoder-Retry-Count", str(attempt))])
        return replace(self, headers=headers)


class ClientOptions(TypedDict, total=False):
    """What ``with_options`` may change."""

    base_url: str
    token: str | None
    timeout: Timeout
    max_retries: int
    default_headers: Mapping[str, str]
    default_query: Mapping[str, Any]


@dataclass(frozen=True)
class ClientConfig:
    """Where and how to connect: API root URL, token, timeouts, retries, default headers/query."""

    base_url: str = DEFAULT_BASE_URL + API_PREFIX
    token: str | None = None
    timeout: Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_headers: Mapping[str, str] = field(default_factory=dict)
    default_query: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Explicit arguments first, then the environment (see the module docstring)."""
        if isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError("max_retries must be a non-negative integer")
        env = os.environ if environ is None else environ
        return cls(
            base_url=resolve_base_url(base_url, env),
            token=resolve_token(token, env),
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
            default_headers=dict(default_headers or {}),
            default_query=dict(default_query or {}),
        )

    def with_options(self, **changes: Unpack[ClientOptions]) -> ClientConfig:
        """A copy with the given settings replaced; headers and query are merged."""
        config = self
        if "base_url" in changes:
            config = replace(config, base_url=normalize_base_url(changes["base_url"]))
        if "token" in changes:
            config = replace(config, token=changes["token"])
        if "timeout" in changes:
            config = replace(config, timeout=changes["timeout"])
        if "max_retries" in changes:
            retry = replace(config.retry, max_retries=changes["max_retries"])
            config = replace(config, retry=retry)
        headers = {**config.default_headers, **changes.get("default_headers", {})}
        query = {**config.default_query, **changes.get("default_query", {})}
        return replace(config, default_headers=headers, default_query=query)

    def url(self, request: RequestSpec) -> str:
        """The absolute URL of ``request`` (without its query string)."""
        return self.base_url + request.path

    def headers(self, request: RequestSpec) -> dict[str, str]:
        """Authorization, content negotiation, default headers, then the request's own.

        A POST gets a fresh ``Idempotency-Key`` (unless it has one) when it may be retried: the
        server then runs it once however many times it is sent.
        """
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        headers["X-Qoder-Retry-Count"] = "0"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        if request.method == "POST" and self.retry.max_retries > 0:
            headers["Idempotency-Key"] = f"workyard-retry-{uuid.uuid4()}"
        return merge_headers(headers, [*self.default_headers.items(), *request.headers])

    def content(self, request: RequestSpec) -> bytes | None:
        """The request body, encoded as JSON."""
        if request.body is None:
            return None
        return json.dumps(request.body, ensure_ascii=False, separators=(",", ":")).encode()

    def prepare(self, request: RequestSpec) -> PreparedRequest:
        """Everything the transport needs to send ``request`` (one call: one idempotency key)."""
        default_query = RequestSpec("GET", "").with_options({"extra_query": self.default_query})
        own = {key for key, _ in request.params}
        params = [*((k, v) for k, v in default_query.params if k not in own), *request.params]
        timeout = self.timeout if isinstance(request.timeout, NotGiven) else request.timeout
        return PreparedRequest(
            method=request.method,
            url=self.url(request),
            params=params,
            headers=self.headers(request),
            content=self.content(request),
            timeout=timeout,
        )
