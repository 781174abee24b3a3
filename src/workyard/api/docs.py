"""``/openapi.json`` (the document of :mod:`workyard.api.openapi`) and Swagger UI at ``/docs``,
from assets in the package (it works offline)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from starlette.responses import HTMLResponse, Response

from workyard.api.router import Routes
from workyard.errors import NotFoundError

__all__ = ["DOCS_HEADERS", "DOCS_HTML", "docs_asset", "docs_routes"]


DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>workyard API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/docs-init.js"></script>
</body>
</html>
"""

DOCS_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
}

_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "docs-init.js": "text/javascript",
    "LICENSE-swagger-ui": "text/plain",
    "NOTICE-swagger-ui": "text/plain",
}
_cache: dict[str, bytes] = {}


def docs_asset(name: str) -> tuple[bytes, str]:
    """An asset's bytes and media type, or 404 for any other name."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFoundError("No such file.")
    data = _cache.get(name)
    if data is None:
        data = resources.files("workyard.api").joinpath("static", name).read_bytes()
        _cache[name] = data
    return data, media_type


def _page(name: str) -> bytes:
    return resources.files("workyard.api").joinpath("swagger", name).read_bytes()


def docs_routes(document: dict[str, Any]) -> Routes:
    """The routes serving ``document`` and the page that renders it (GET and HEAD each); the
    page's assets are ``/docs/static/…`` (routes/ops.py)."""
    body = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    redirect_html = _page("oauth2-redirect.html")

    async def openapi_json() -> Response:
        return Response(body, media_type="application/json")

    async def swagger_ui() -> Response:
        return HTMLResponse(DOCS_HTML, headers=DOCS_HEADERS)

    async def swagger_redirect() -> Response:
        return HTMLResponse(redirect_html)

    routes = Routes()
    for method in ("GET", "HEAD"):
        routes.route(method, "/openapi.json")(openapi_json)
        routes.route(method, "/docs")(swagger_ui)
        routes.route(method, "/docs/oauth2-redirect")(swagger_redirect)
    return routes
