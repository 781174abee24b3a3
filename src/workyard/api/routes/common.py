"""Helpers every route uses: services, authentication, JSON responses, pagination params."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from workyard.api.inputs import query_int, query_str
from workyard.domain.pagination import PageRequest, page_request
from workyard.errors import WorkyardError
from workyard.logs import set_token_id
from workyard.service.auth import Principal, TokenService
from workyard.service.container import Services
from workyard.store import StoreUnavailableError

__all__ = ["authenticate", "authenticate_scope", "json_response", "pagination", "services"]

_AUTHENTICATED = "workyard.authenticated"  # scope key: the request's principal or auth error


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def authenticate(request: Request) -> Principal:
    return await authenticate_scope(request.scope, services(request).tokens)


async def authenticate_scope(scope: Scope, tokens: TokenService) -> Principal:
    """The request's principal, decided once: a later call (the route, after the idempotency
    wrapper asked) gets the same principal or raises the same error without asking again."""
    outcome: Principal | Exception | None = scope.get(_AUTHENTICATED)
    if outcome is None:
        try:
            outcome = await tokens.authenticate(_authorization(scope))
        except (WorkyardError, StoreUnavailableError) as exc:
            scope[_AUTHENTICATED] = exc
            raise
        scope[_AUTHENTICATED] = outcome
    if isinstance(outcome, Exception):
        raise outcome
    set_token_id(scope, outcome.token_id)
    return outcome


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json")


def pagination(request: Request, prefix: str) -> PageRequest:
    limit = query_int(request, "limit", message="limit must be a positive integer")
    return page_request(
        limit=limit,
        page=query_str(request, "page"),
        after_id=query_str(request, "after_id"),
        before_id=query_str(request, "before_id"),
        prefix=prefix,
    )
