"""The dashboard's HTTP behaviour (no browser): login, cookies, permissions, escaping, partials.

The browser tests in tests/ui drive the same pages in Chromium.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.dashboard_support import UI, csrf_of, login
from tests.conftest import TokenFactory, create_environment, create_session
from workyard.api.app import create_app
from workyard.domain.models import TokenKind
from workyard.service.container import Services


@pytest.fixture
async def browser(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client of the dashboard, not logged in."""
    app = create_app(services, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=UI, timeout=10) as c:
        yield c


async def _login(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    return await login(browser, token)


async def test_pages_redirect_to_the_login_page_until_logged_in(
    browser: httpx.AsyncClient, admin_token: str
) -> None:
    for path in ("/ui", "/ui/environments/env_00000000000000000000000000000000"):
        response = await browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/login"
    form = await browser.get("/ui/login")
    assert form.status_code == 200
    assert 'form id="login"' in form.text

    response = await _login(browser, admin_token)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "workyard_session=" in c)
    assert admin_token not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    page = await browser.get("/ui")
    assert page.status_code == 200
    assert 'id="environments"' in page.text or "No environments yet" in page.text

    csrf = csrf_of(page.text)
    out = await browser.post("/ui/logout", data={"csrf": csrf}, headers={"origin": UI})
    assert out.status_code == 303
    assert (await browser.get("/ui")).status_code == 303


@pytest.mark.parametrize("token", ["", "nope", "pt-" + "x" * 43])
async def test_a_bad_token_is_refused_with_a_message(
    browser: httpx.AsyncClient, token: str
) -> None:
    response = await _login(browser, token)
    assert response.status_code == 401
    assert 'class="error"' in response.text
    assert not any("workyard_session=" in c for c in response.headers.get_list("set-cookie"))


async def test_worker_tokens_cannot_use_the_dashboard(
    browser: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = await make_token(TokenKind.WORKER)
    response = await _login(browser, token)
    assert response.status_code == 403
    assert "Worker tokens cannot use the dashboard" in response.text
    browser.cookies.set("workyard_session", token, path="/ui")
    assert (await browser.get("/ui")).status_code == 303


async def test_pages_show_the_queue_and_escape_what_users_wrote(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, admin_token: str
) -> None:
    name = "<script>alert(1)</script>"
    env = await create_environment(client, name=name)
    session = await create_session(client, env["id"], title="<b>bold</b>")
    await create_session(client, env["id"])
    await client.post(f"/sessions/{session['id']}/events", json={"events": [
        {"type": "user.message", "content": "<img src=x onerror=alert(2)>"}]})  # fmt: skip
    await _login(browser, admin_token)

    overview = (await browser.get("/ui")).text
    assert name not in overview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in overview
    row = re.search(rf'<tr data-id="{env["id"]}">(.*?)</tr>', overview, re.S)
    assert row is not None
    assert '<td class="num queued">2</td>' in row.group(1)

    env_page = (await browser.get(f"/ui/environments/{env['id']}")).text
    assert '<dd id="stat-queued">2</dd>' in env_page
    assert "&lt;b&gt;bold&lt;/b&gt;" in env_page
    session_page = (await browser.get(f"/ui/sessions/{session['id']}")).text
    assert "&lt;img src=x onerror=alert(2)&gt;" in session_page
    assert "<img src=x" not in session_page


async def test_a_partial_request_returns_only_the_content(
    browser: httpx.AsyncClient, admin_token: str
) -> None:
    await _login(browser, admin_token)
    full = await browser.get("/ui")
    partial = await browser.get("/ui", headers={"x-workyard-partial": "1"})
    assert "<html" in full.text
    assert "<html" not in partial.text
    assert "<h1>Environments</h1>" in partial.text
    assert partial.headers["cache-control"] == "no-store"
    policy = full.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    "path",
    [
        "/ui/environments/env_00000000000000000000000000000000",
        "/ui/environments/bogus",
        "/ui/sessions/sess_00000000000000000000000000000000",
        "/ui/sessions/env_00000000000000000000000000000000",
    ],
)
async def test_unknown_ids_are_a_404_page(
    browser: httpx.AsyncClient, admin_token: str, path: str
) -> None:
    await _login(browser, admin_token)
    response = await browser.get(path)
    assert response.status_code == 404
    assert 'class="error"' in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_static_files_are_served_and_nothing_else(browser: httpx.AsyncClient) -> None:
    script = await browser.get("/ui/static/ui.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "X-Workyard-Partial" in script.text
    assert (await browser.get("/ui/static/ui.css")).status_code == 200
    missing = await browser.get("/ui/static/routes.py")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"


async def test_a_long_session_shows_its_latest_events(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, admin_token: str
) -> None:
    env = await create_environment(client)
    session = await create_session(client, env["id"])
    texts = [f"message {n}" for n in range(520)]
    for start in range(0, len(texts), 100):
        batch = [{"type": "user.message", "content": t} for t in texts[start : start + 100]]
        response = await client.post(f"/sessions/{session['id']}/events", json={"events": batch})
        assert response.status_code == 200, response.text
    await _login(browser, admin_token)
    page = (await browser.get(f"/ui/sessions/{session['id']}")).text
    shown = re.findall(r'<div class="text">(message \d+)</div>', page)
    assert shown == texts[-50:]  # the latest page, oldest first
    assert re.search(r'<a class="older" rel="prev" href="\?events=[\w-]+">', page)
