"""Every error path renders the one envelope (spec/conventions.md), mapped in one place."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from workyard.api.middleware import envelope_bytes, request_id_of
from workyard.errors import (
    APIError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    OverloadedError,
    WorkyardError,
)
from workyard.store import StoreUnavailableError

__all__ = ["error_for", "error_response", "render_error"]

log = logging.getLogger("workyard.api")


def render_error(rid: str, error: WorkyardError) -> Response:
    """The envelope response for ``error`` (the dispatcher adds ``x-request-id`` to it)."""
    response = Response(
        envelope_bytes(rid, error.to_error_body()),
        status_code=error.status,
        media_type="application/json",
    )
    if error.status == 503:
        response.raw_headers.append((b"retry-after", b"1"))
    return response


def error_response(request: Request, error: WorkyardError) -> Response:
    return render_error(request_id_of(request.scope), error)


def error_for(exc: Exception, method: str, path: str) -> WorkyardError:
    """The API error a handler's exception is answered with (unexpected ones are logged)."""
    if isinstance(exc, WorkyardError):
        return exc
    if isinstance(exc, StoreUnavailableError):
        log.warning("store unavailable: %s", exc)
        return OverloadedError()
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return NotFoundError("No such route.")
        if exc.status_code == 405:
            return MethodNotAllowedError()
        return InvalidRequestError(str(exc.detail), status=exc.status_code)
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return APIError()
