"""The SDK's errors: the class names, attributes and status mapping of ``qca-sdk``.

```
APIError                          every error the SDK raises
├── APIConnectionError            no HTTP answer
│   └── APITimeoutError           ... because a timeout expired
├── APIResponseValidationError    an answer that is not the expected JSON
└── APIStatusError                a non-2xx answer (.status_code, .request_id, .response)
    ├── BadRequestError           400
    ├── AuthenticationError       401
    ├── PermissionDeniedError     403
    ├── NotFoundError             404
    ├── ConflictError             409
    ├── RequestTooLargeError      413
    ├── UnprocessableEntityError  422
    ├── RateLimitError            429
    ├── InternalServerError       500-599 but 529
    └── OverloadedError           529
```

Any other status (405, 412, ...) raises :class:`APIStatusError` itself, as ``qca-sdk`` does. These
are not the server's classes (:mod:`workyard.errors`): the server maps its own tree to statuses in
one place, the SDK maps statuses to this tree in :func:`status_error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "UnprocessableEntityError",
    "status_error",
]


def _error_member(body: object) -> Mapping[str, Any]:
    error = body.get("error", body) if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


class APIError(Exception):
    """Base of every SDK error: ``message``, ``request``, ``body`` (the decoded answer, if any),
    and from the envelope ``type``, ``code`` and ``param``."""

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, body: object = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        error = _error_member(body)
        self.code: Any = error.get("code")
        self.type: str | None = _opt_str(error.get("type"))
        self.param: str | None = _opt_str(error.get("param"))

    @property
    def detail(self) -> str:
        """The envelope's ``error.message`` when the answer had one, else ``message``."""
        envelope = _error_member(self.body).get("message")
        return envelope if isinstance(envelope, str) else self.message

    @property
    def status(self) -> int:
        """The HTTP status (0: no answer). Kept from earlier workyard SDKs; see ``status_code``."""
        status_code = getattr(self, "status_code", 0)
        return status_code if isinstance(status_code, int) else 0

    @property
    def error_type(self) -> str:
        """``type`` or ``"api_error"``. Kept from earlier workyard SDKs; see ``type``."""
        return self.type or "api_error"


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class APIConnectionError(APIError):
    """The request got no HTTP answer (refused, reset, DNS...)."""

    def __init__(
        self, *, request: httpx.Request | None = None, message: str = "Connection error."
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""

    def __init__(self, *, request: httpx.Request | None = None) -> None:
        super().__init__(request=request, message="Request timed out.")


class APIResponseValidationError(APIError):
    """A 2xx answer that is not the JSON the SDK expected."""

    def __init__(
        self,
        *,
        status_code: int,
        body: object,
        message: str = "Response does not match the expected schema.",
        request_id: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, request=_request_of(response), body=body)
        self.response = response
        self.status_code = status_code
        self.request_id = request_id


class APIStatusError(APIError):
    """A non-2xx answer: ``status_code``, ``request_id`` (``X-Request-ID`` or the envelope's)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object,
        headers: Mapping[str, str] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, request=_request_of(response), body=body)
        self.response = response
        self.status_code = status_code
        found = httpx.Headers(dict(headers or {}))
        envelope_id = body.get("request_id") if isinstance(body, Mapping) else None
        self.request_id: str | None = (
            found.get("x-request-id") or found.get("request-id") or _opt_str(envelope_id)
        )


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class RequestTooLargeError(APIStatusError):
    """413."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429."""


class InternalServerError(APIStatusError):
    """5xx other than 529 (a workyard server answers 503 when its database is unreachable)."""


class OverloadedError(APIStatusError):
    """529."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    529: OverloadedError,
}


def _request_of(response: httpx.Response | None) -> httpx.Request | None:
    if response is None:
        return None
    try:
        return response.request
    except RuntimeError:  # a response built by hand has no request
        return None


def status_error(
    status_code: int,
    body: object,
    headers: Mapping[str, str] | None = None,
    *,
    response: httpx.Response | None = None,
) -> APIStatusError:
    """The error for a non-2xx answer whose decoded body (JSON, else text) is ``body``."""
    fallback = InternalServerError if status_code >= 500 else APIStatusError
    cls = _BY_STATUS.get(status_code, fallback)
    error = body.get("error", body) if isinstance(body, Mapping) else body
    message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
    return cls(
        f"Error code: {status_code} - {message}",
        status_code=status_code,
        body=body,
        headers=headers,
        response=response,
    )
