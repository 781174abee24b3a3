"""``/openapi.json`` (the document of :mod:`workyard.api.openapi`) and Swagger UI at ``/docs``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from starlette.responses import HTMLResponse, Response

from workyard.api.router import Routes

__all__ = ["docs_routes"]


def _page(name: str) -> bytes:
    return resources.files("workyard.api").joinpath("swagger", name).read_bytes()


def docs_routes(document: dict[str, Any]) -> Routes:
    """The routes serving ``document`` and the pages that render it (GET and HEAD each)."""
    body = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    docs_html, redirect_html = _page("docs.html"), _page("oauth2-redirect.html")

    async def openapi_json() -> Response:
        return Response(body, media_type="application/json")

    async def swagger_ui() -> Response:
        return HTMLResponse(docs_html)

    async def swagger_redirect() -> Response:
        return HTMLResponse(redirect_html)

    routes = Routes()
    for method in ("GET", "HEAD"):
        routes.route(method, "/openapi.json")(openapi_json)
        routes.route(method, "/docs")(swagger_ui)
        routes.route(method, "/docs/oauth2-redirect")(swagger_redirect)
    return routes
