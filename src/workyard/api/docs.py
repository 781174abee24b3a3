"""``/docs``: Swagger UI for ``/openapi.json`` from assets in the package (works offline)."""

from __future__ import annotations

from importlib import resources

from workyard.errors import NotFoundError

__all__ = ["DOCS_HEADERS", "DOCS_HTML", "docs_asset"]

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
