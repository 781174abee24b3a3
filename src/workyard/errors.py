"""The server's error hierarchy.

Each class carries its HTTP status, its wire ``error.type`` and a default message. The server
renders any ``WorkyardError`` as the error envelope in one exception handler. The SDK has its own
tree, with ``qca-sdk``'s names (``workyard.client``; docs/sdk.md maps one onto the other).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConflictError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "WorkyardError",
]


class WorkyardError(Exception):
    """Base of every error workyard raises or decodes."""

    status: int = 500
    error_type: ClassVar[str] = "api_error"
    default_message: ClassVar[str] = "Internal server error."

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        request_id: str | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        self.request_id = request_id
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def to_error_body(self) -> dict[str, Any]:
        """The ``error`` member of the envelope."""
        body: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.param is not None:
            body["param"] = self.param
        return body

    def __str__(self) -> str:
        parts = [f"{self.status} {self.error_type}: {self.message}"]
        if self.param is not None:
            parts.append(f"(param: {self.param})")
        if self.request_id is not None:
            parts.append(f"[request_id: {self.request_id}]")
        return " ".join(parts)


class InvalidRequestError(WorkyardError):
    status = 400
    error_type = "invalid_request_error"
    default_message = "The request is invalid."


class AuthenticationError(WorkyardError):
    status = 401
    error_type = "authentication_error"
    default_message = "Invalid API key or token."


class PermissionDeniedError(WorkyardError):
    status = 403
    error_type = "permission_error"
    default_message = "This token may not perform this operation."


class NotFoundError(WorkyardError):
    status = 404
    error_type = "not_found_error"
    default_message = "Not found."


class MethodNotAllowedError(WorkyardError):
    status = 405
    error_type = "invalid_request_error"
    default_message = "Method not allowed."


class ConflictError(WorkyardError):
    status = 409
    error_type = "invalid_request_error"
    default_message = "The resource is in a state that does not allow this operation."


class PreconditionFailedError(WorkyardError):
    status = 412
    error_type = "precondition_failed_error"
    default_message = "The lease precondition failed: the lease is held by someone else."


class RateLimitError(WorkyardError):
    status = 429
    error_type = "rate_limit_error"
    default_message = "Too many requests."


class APIError(WorkyardError):
    status = 500
    error_type = "api_error"
    default_message = "Internal server error."


class OverloadedError(WorkyardError):
    status = 503
    error_type = "overloaded_error"
    default_message = "The server is overloaded or unavailable; retry later."
