"""Helpers of the dashboard's HTTP tests: log in and post forms as a same-origin browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from workyard.api.app import create_app
from workyard.service.container import Services

UI = "http://testserver"
_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]*)">')

__all__ = ["UI", "csrf_of", "dashboard", "login", "origin", "post_form", "session_cookie"]


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


async def login(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    """Open the login page (its pre-session cookie and CSRF token), then post the token."""
    form = await browser.get("/ui/login")
    assert form.status_code in (200, 303), form.text
    if form.status_code == 303:  # logged in already: start afresh
        browser.cookies.clear()
        form = await browser.get("/ui/login")
    data = {"token": token, "csrf": csrf_of(form.text)}
    return await browser.post("/ui/login", data=data, headers={"origin": origin(browser)})


def origin(browser: httpx.AsyncClient) -> str:
    return str(browser.base_url).rstrip("/")


async def post_form(
    browser: httpx.AsyncClient, path: str, page: str = "/ui", **fields: Any
) -> httpx.Response:
    """POST ``fields`` to ``path`` with the CSRF token of ``page`` and this origin."""
    csrf = csrf_of((await browser.get(page)).text)
    data = {"csrf": csrf, **{k: str(v) for k, v in fields.items()}}
    return await browser.post(path, data=data, headers={"origin": origin(browser)})


@asynccontextmanager
async def dashboard(services: Services, base_url: str = UI) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client of ``services``' dashboard, not logged in."""
    app = create_app(services, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=10) as c:
        yield c


def session_cookie(response: httpx.Response) -> str | None:
    """The ``Set-Cookie`` header of the dashboard session in ``response``, if any."""
    found = [c for c in response.headers.get_list("set-cookie") if "workyard_session=" in c]
    return found[0] if found else None
