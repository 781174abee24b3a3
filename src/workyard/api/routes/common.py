"""Helpers every route uses: services, authentication, JSON responses, pagination params."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from workyard.api.inputs import query_int, query_str
from workyard.domain.pagination import PageRequest, page_request
from workyard.logs import set_token_id
from workyard.service.auth import Principal
from workyard.service.container import Services

__all__ = ["authenticate", "json_response", "pagination", "services"]


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def authenticate(request: Request) -> Principal:
    principal = await services(request).tokens.authenticate(request.headers.get("authorization"))
    set_token_id(request.scope, principal.token_id)
    return principal


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
