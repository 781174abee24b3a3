"""``/docs`` renders from packaged assets only (no network); ``/`` sends people to the dashboard."""

from __future__ import annotations

import re

import httpx

from workyard.api import create_app
from workyard.service.container import Services


def _plain_client(services: Services) -> httpx.AsyncClient:
    app = create_app(services, manage_lifecycle=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_docs_page_loads_only_packaged_assets(services: Services) -> None:
    async with _plain_client(services) as http:
        page = await http.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "http://" not in page.text and "https://" not in page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sorted(assets) == [
            "/docs/static/docs-init.js",
            "/docs/static/swagger-ui-bundle.js",
            "/docs/static/swagger-ui.css",
        ]
        for asset in assets:
            response = await http.get(asset)
            assert response.status_code == 200, asset
            kind = "text/css" if asset.endswith(".css") else "text/javascript"
            assert response.headers["content-type"].startswith(kind)
            assert len(response.content) > 100
        init = (await http.get("/docs/static/docs-init.js")).text
        assert '"/openapi.json"' in init
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/docs/static/LICENSE-swagger-ui")).status_code == 200


async def test_unknown_docs_assets_are_404(services: Services) -> None:
    async with _plain_client(services) as http:
        for name in ("nope.js", "..%2F..%2Fdocs.py", "index.html"):
            response = await http.get(f"/docs/static/{name}")
            assert response.status_code == 404, name
            assert response.json()["error"]["type"] == "not_found_error"


async def test_root_redirects_to_the_dashboard(services: Services) -> None:
    async with _plain_client(services) as http:
        response = await http.get("/")
        assert response.status_code == 307 and response.headers["location"] == "/ui"
