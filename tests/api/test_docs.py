"""``/openapi.json`` serves the declared document, ``/docs`` the Swagger UI page that reads it."""

from __future__ import annotations

import httpx

from workyard.api.openapi import build_openapi


async def test_the_document_is_the_declared_one(client: httpx.AsyncClient) -> None:
    response = await client.get("http://testserver/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    summary = "Self-hosted work queue, wire-compatible with the Qoder Cloud Agents API."
    assert response.json() == build_openapi("workyard", "0.1.0", summary)


async def test_the_docs_page_renders_the_document(client: httpx.AsyncClient) -> None:
    for method in ("GET", "HEAD"):
        response = await client.request(method, "http://testserver/docs")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = (await client.get("http://testserver/docs")).text
    assert '<script src="/docs/static/swagger-ui-bundle.js"></script>' in page
    init = (await client.get("http://testserver/docs/static/docs-init.js")).text
    assert '"/openapi.json"' in init
    redirect = await client.get("http://testserver/docs/oauth2-redirect")
    assert "Swagger UI: OAuth2 Redirect" in redirect.text
