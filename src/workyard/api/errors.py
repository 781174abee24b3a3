"""Every error path renders the one envelope (spec/conventions.md), mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from workyard.api.middleware import envelope_bytes, request_id_of
from workyard.api.queue_metrics import count_fencing_rejection
from workyard.errors import (
    APIError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    OverloadedError,
    WorkyardError,
)
from workyard.store import StoreUnavailableError

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("workyard.api")


def error_response(request: Request, error: WorkyardError) -> Response:
    rid = request_id_of(request.scope)
    headers = {"x-request-id": rid}
    if error.status == 503:
        headers["retry-after"] = "1"
    return Response(
        envelope_bytes(rid, error.to_error_body()),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )


async def _workyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WorkyardError)
    count_fencing_rejection(request, exc)
    return error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(request, NotFoundError("No such route."))
    if exc.status_code == 405:
        return error_response(request, MethodNotAllowedError())
    return error_response(request, InvalidRequestError(str(exc.detail), status=exc.status_code))


def _param_of(loc: tuple[Any, ...]) -> str | None:
    names = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(names) or None


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    param = _param_of(tuple(first.get("loc", ())))
    message = f"{param} is invalid" if param else "The request is invalid."
    return error_response(request, InvalidRequestError(message, param=param))


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable: %s", exc)
    return error_response(request, OverloadedError())


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, APIError())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WorkyardError, _workyard_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreUnavailableError, _unavailable)
    app.add_exception_handler(Exception, _unhandled)
