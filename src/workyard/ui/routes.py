"""The dashboard at ``/ui`` [decided]: pages rendered on the server, kept live by ui.js.

Logging in with an admin or member API token opens a dashboard session (``ui/auth.py``); every
page then reads through the same services, with the same permission checks, as the API (and the
actions of ``ui/actions.py`` write through them). A request carrying ``X-Workyard-Partial: 1``
gets only the page's content; one naming fragments (``X-Workyard-Partial: stats,work``) gets just
those, each in a ``<template data-part>`` (the refresh). The session page follows new events over
SSE (``/ui/sessions/{id}/events/stream``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from workyard.api import wire
from workyard.api.inputs import path_id
from workyard.api.router import Routes
from workyard.clock import format_age
from workyard.domain.events import USER_TYPES, WORKER_TYPES
from workyard.domain.models import Session, TokenKind
from workyard.errors import AuthenticationError, NotFoundError, WorkyardError
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.ui import auth, pages_work, stream, text, views

__all__ = ["router"]

router = Routes(prefix="/ui")

_LOGIN = "/ui/login"
_MAX_PARTS = 8
_EVENT_TYPES = " ".join(sorted(USER_TYPES | WORKER_TYPES))
_NOT_PARTS = frozenset({"title", "content"})
_STATIC = {
    "ui.js": "text/javascript",
    "ui.css": "text/css",
    "actions.css": "text/css",
}
_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("workyard.ui", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
_actions = _templates.get_template("actions.html")  # the action forms' macros


class _LoggedOut(Exception):
    """No usable login cookie: send the browser to the login page."""


def _services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def _render(request: Request, name: str, code: int = 200, **values: Any) -> Response:
    svc = _services(request)
    now = svc.clock.now()
    login: auth.Login | None = getattr(request.state, "login", None)
    partial = bool(request.headers.get("x-workyard-partial"))
    flash = auth.read_flash(request, login) if login is not None and not partial else None
    context = {
        "logged_in": name != "login.html",
        "csrf": login.csrf if login is not None else "",
        "is_admin": login is not None and login.is_admin,
        "flash": flash,
        "actions": _actions.module,
        "ago": lambda instant: format_age(instant, now),
        "timestamp": text.timestamp,
        "ts": text.time_tag,
        "duration": text.duration,
        "now": now,
        "when": lambda instant: text.relative(instant, now),
        "event_types": _EVENT_TYPES,
        "status_of": lambda s: wire.session_status(s.work_state) if isinstance(s, Session) else "",
        "filters": list(views.STATE_FILTERS),
        "statuses": list(views.STATUS_FILTERS),
        "scan_limit": views.SCAN_LIMIT,
        **values,
    }
    template = _templates.get_template(name)
    parts = _parts(request)
    if parts is None:
        html = template.render(context)
    elif parts == frozenset({"1"}):
        html = "".join(template.blocks["content"](template.new_context(context)))
    else:
        html = "".join(
            f'<template data-part="{part}">'
            + "".join(template.blocks[part](template.new_context(context)))
            + "</template>"
            for part in sorted(parts)
            if part in template.blocks and part not in _NOT_PARTS
        )
    response = HTMLResponse(html, status_code=code, headers=_HEADERS)
    if not partial and auth.FLASH_COOKIE in request.cookies:
        auth.delete_cookie(response, auth.FLASH_COOKIE)  # shown once
    return response


def _parts(request: Request) -> frozenset[str] | None:
    """The fragments a partial refresh asks for (``{"1"}``: the whole content), else ``None``."""
    header = request.headers.get("x-workyard-partial")
    if not header:
        return None
    return frozenset(p.strip() for p in header.split(",")[:_MAX_PARTS] if p.strip())


def _wanted(request: Request) -> frozenset[str] | None:
    """What a page's loader must read: everything, unless only some fragments are asked for."""
    parts = _parts(request)
    return None if parts is None or "1" in parts else parts


async def _principal(request: Request) -> Principal:
    """The principal of the request's dashboard session (kept in ``request.state.login``)."""
    login = await auth.current_login(request)
    if login is None:
        raise _LoggedOut
    request.state.login = login
    return login.principal


async def _page(
    request: Request, name: str, load: Callable[[Services, Principal], Awaitable[object]]
) -> Response:
    """Render ``name`` with ``page=await load(services, principal)``, or the right detour."""
    try:
        principal = await _principal(request)
        page = await load(_services(request), principal)
    except _LoggedOut:
        return RedirectResponse(_LOGIN, status_code=303)
    except WorkyardError as error:
        message = error.message
        return _render(request, "error.html", error.status, status=error.status, message=message)
    return _render(request, name, page=page)


@router.get("")
async def overview(request: Request) -> Response:
    cursor = request.query_params.get("page")

    async def load(svc: Services, principal: Principal) -> views.Overview:
        return await views.overview(svc, principal, cursor)

    return await _page(request, "overview.html", load)


@router.get("/environments/{environment_id}")
async def environment(request: Request, environment_id: str) -> Response:
    async def load(svc: Services, principal: Principal) -> views.EnvironmentPage:
        env_id = path_id("env", environment_id, "Environment")
        query = views.parse_environment_query(request.query_params)
        return await views.environment_page(svc, principal, env_id, query, _wanted(request))

    return await _page(request, "environment.html", load)


@router.get("/environments/{environment_id}/workers")
async def workers(request: Request, environment_id: str) -> Response:
    async def load(svc: Services, principal: Principal) -> pages_work.WorkersPage:
        env_id = path_id("env", environment_id, "Environment")
        return await pages_work.workers_page(svc, principal, env_id)

    return await _page(request, "workers.html", load)


@router.get("/environments/{environment_id}/work/{work_id}")
async def work_item(request: Request, environment_id: str, work_id: str) -> Response:
    async def load(svc: Services, principal: Principal) -> pages_work.WorkPage:
        env_id = path_id("env", environment_id, "Environment")
        item_id = path_id("work", work_id, "Work item")
        return await pages_work.work_page(svc, principal, env_id, item_id)

    return await _page(request, "work.html", load)


@router.get("/sessions/{session_id}")
async def session(request: Request, session_id: str) -> Response:
    cursor = request.query_params.get("events")

    async def load(svc: Services, principal: Principal) -> views.SessionPage:
        sess_id = path_id("sess", session_id, "Session")
        return await views.session_page(svc, principal, sess_id, cursor, _wanted(request))

    return await _page(request, "session.html", load)


@router.get("/sessions/{session_id}/events/stream")
async def session_stream(request: Request, session_id: str) -> Response:
    """The session's new events for its page, over SSE, with the dashboard's login."""
    try:
        principal = await _principal(request)
    except _LoggedOut:
        return Response("Log in again.", status_code=401, headers=_HEADERS)
    return await stream.events(request, _services(request), principal, session_id)


@router.get("/sessions/{session_id}/events/{event_id}")
async def session_event(request: Request, session_id: str, event_id: str) -> Response:
    """One event in full, as the API writes it (the page shows long ones cut)."""
    try:
        principal = await _principal(request)
    except _LoggedOut:
        return RedirectResponse(_LOGIN, status_code=303)
    response = await stream.full_event(_services(request), principal, session_id, event_id)
    response.headers.update(_HEADERS)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    if not auth.had_session_cookie(request):
        return _login_page(request, 200, None)
    if await auth.current_login(request) is not None:
        return RedirectResponse("/ui", status_code=303)  # logged in already
    return _login_page(request, 200, auth.expired_error().message)


def _login_page(request: Request, code: int, error: str | None) -> Response:
    """The login form, its CSRF token from the pre-session cookie (set here when missing)."""
    secret, new = auth.login_secret(request)
    response = _render(request, "login.html", code, error=error, csrf=auth.csrf_token(secret))
    if new:
        auth.set_cookie(request, response, auth.LOGIN_COOKIE, secret)
    if auth.had_session_cookie(request):
        auth.delete_cookie(response, auth.SESSION_COOKIE)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        auth.check_origin(request)
        form = await auth.read_form(request)
        auth.check_csrf(form, request.cookies.get(auth.LOGIN_COOKIE))
    except WorkyardError as error:
        return _login_page(request, error.status, error.message)
    token = form.get("token", "").strip()
    svc = _services(request)
    try:
        principal = await svc.tokens.authenticate(f"Bearer {token}")
    except AuthenticationError:
        return _login_page(request, 401, "That token is invalid or revoked.")
    if principal.kind is TokenKind.WORKER or principal.item is not None:
        refusal = "Worker tokens cannot use the dashboard: use an admin or member token."
        return _login_page(request, 403, refusal)
    session_id = await auth.open_session(svc, principal)
    response = RedirectResponse("/ui", status_code=303)
    auth.set_cookie(request, response, auth.SESSION_COOKIE, session_id)
    auth.delete_cookie(response, auth.LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        auth.check_origin(request)
        login = await auth.current_login(request)
        if login is not None:
            auth.check_csrf(await auth.read_form(request), login.session_id)
    except WorkyardError as error:
        return _render(
            request, "error.html", error.status, status=error.status, message=error.message
        )
    await auth.end_session(request)
    response = RedirectResponse(_LOGIN, status_code=303)
    auth.delete_cookie(response, auth.SESSION_COOKIE)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    media_type = _STATIC.get(name)
    if media_type is None:
        raise NotFoundError("No such file.")
    data = resources.files("workyard.ui").joinpath("static", name).read_bytes()
    headers = {"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"}
    return Response(data, media_type=media_type, headers=headers)
