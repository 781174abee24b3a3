"""Dashboard sessions, CSRF tokens and same-origin checks: who a ``/ui`` request speaks for.

Logging in opens a server-side session: the cookie holds only its random id; the store holds the
SHA-256 of the id, the token it was opened with and its expiry (wall clock). Every request looks
the session up and checks its token through ``TokenService`` (never a cache), so logging out,
revoking the token or the token's expiry ends it at once on every server. Every form carries a
CSRF token, an HMAC keyed by the session id (by a pre-session cookie for the login form), and
every POST must come from this origin (``Origin``, else ``Referer``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from workyard.domain.limits import quote
from workyard.domain.models import TokenKind
from workyard.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.service.credentials import hash_secret
from workyard.store.dashboard import DashboardSession

__all__ = [
    "FLASH_COOKIE",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "Login",
    "check_csrf",
    "check_origin",
    "csrf_token",
    "current_login",
    "delete_cookie",
    "end_session",
    "expired_error",
    "flash_value",
    "had_session_cookie",
    "login_secret",
    "open_session",
    "read_flash",
    "read_form",
    "set_cookie",
]

SESSION_COOKIE = "workyard_session"
LOGIN_COOKIE = "workyard_login"  # the pre-session secret the login form's CSRF token comes from
FLASH_COOKIE = "workyard_flash"  # the outcome of the last action, shown once after the redirect
_PATH = "/ui"
_MAX_FORM_BYTES = 256 * 1024
_PRUNE_BATCH = 100
_SECRET_LENGTH = 43  # secrets.token_urlsafe(32)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NOTHING_CHANGED = "nothing was changed"


@dataclass(frozen=True, slots=True)
class Login:
    """A request's dashboard session: its principal, its clear id and its forms' CSRF token."""

    principal: Principal
    session_id: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.principal.kind is TokenKind.ADMIN


def _services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def csrf_token(secret: str) -> str:
    """The CSRF token of forms under ``secret`` (a session id or a login cookie)."""
    digest = hmac.new(secret.encode(), b"workyard-ui-csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _well_formed(secret: str | None) -> bool:
    return secret is not None and len(secret) == _SECRET_LENGTH and secret.isascii()


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """An HttpOnly, SameSite=Strict cookie for ``/ui``, Secure over HTTPS, ending with the tab."""
    secure = request.url.scheme == "https"
    response.set_cookie(name, value, path=_PATH, httponly=True, samesite="strict", secure=secure)


def delete_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=_PATH, httponly=True, samesite="strict")


# sessions -----------------------------------------------------------------------------------
async def open_session(svc: Services, principal: Principal) -> str:
    """Open a session for ``principal`` (an admin or member token); return its clear id."""
    now = svc.tokens.wall.now()
    await svc.store.prune_dashboard_sessions(now, _PRUNE_BATCH)
    session_id = secrets.token_urlsafe(32)
    expires = now + svc.settings.ui_session_ttl_seconds * 1_000_000
    row = DashboardSession(hash_secret(session_id), principal.token_id, now, expires)
    await svc.store.insert_dashboard_session(row)
    return session_id


async def current_login(request: Request) -> Login | None:
    """The request's live dashboard session, or ``None`` (none, expired, ended, token dead)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not _well_formed(session_id):
        return None
    assert session_id is not None
    svc = _services(request)
    row = await svc.store.get_dashboard_session(hash_secret(session_id), svc.tokens.wall.now())
    if row is None:
        return None
    try:
        principal = await svc.tokens.principal_for(row.token_id)
    except AuthenticationError:
        return None
    if principal.kind is TokenKind.WORKER:  # never opened for one; refused all the same
        return None
    return Login(principal, session_id, csrf_token(session_id))


async def end_session(request: Request) -> None:
    """Delete the request's session (logging out); nothing when there is none."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if _well_formed(session_id):
        assert session_id is not None
        await _services(request).store.delete_dashboard_session(hash_secret(session_id))


def had_session_cookie(request: Request) -> bool:
    return SESSION_COOKIE in request.cookies


def expired_error() -> AuthenticationError:
    return AuthenticationError(
        f"Your dashboard session has expired or was ended; log in again ({_NOTHING_CHANGED})."
    )


def login_secret(request: Request) -> tuple[str, bool]:
    """The login form's pre-session secret from its cookie, or a new one (``True``: set it)."""
    secret = request.cookies.get(LOGIN_COOKIE)
    if _well_formed(secret):
        assert secret is not None
        return secret, False
    return secrets.token_urlsafe(32), True


# forms: size, CSRF, origin ------------------------------------------------------------------
async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (the first value of each field)."""
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise InvalidRequestError(f"The form is larger than {_MAX_FORM_BYTES // 1024} KiB.")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def check_csrf(form: dict[str, str], secret: str | None) -> None:
    """The form's ``csrf`` field must be the token of ``secret`` (``None``: no session)."""
    sent = form.get("csrf", "")
    if secret is None or not hmac.compare_digest(sent.encode(), csrf_token(secret).encode()):
        raise PermissionDeniedError(
            "This form's security token is missing or out of date, so it was refused "
            f"({_NOTHING_CHANGED}): reload the page and try again."
        )


def _origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def check_origin(request: Request) -> None:
    """A POST must come from this origin: its ``Origin`` header, else its ``Referer``."""
    own = _origin_of(str(request.url))
    origin = request.headers.get("origin")
    if origin is not None:
        if origin != "null" and _origin_of(origin) == own:
            return
        raise PermissionDeniedError(
            f"This form was sent from another site ({quote(origin)}), so it was refused "
            f"({_NOTHING_CHANGED})."
        )
    referer = request.headers.get("referer")
    if referer is not None and _origin_of(referer) == own:
        return
    raise PermissionDeniedError(
        f"This form was not sent from a page of this dashboard, so it was refused "
        f"({_NOTHING_CHANGED})."
    )


# flash messages -----------------------------------------------------------------------------
def _sign(login: Login, payload: str) -> str:
    key = login.session_id.encode()
    return hmac.new(key, f"flash:{payload}".encode(), hashlib.sha256).hexdigest()


def flash_value(login: Login, text: str) -> str:
    """The flash cookie's value for ``text``: signed with the session, so no one else sets it."""
    payload = base64.urlsafe_b64encode(json.dumps(text).encode()).decode()
    return f"{payload}.{_sign(login, payload)}"


def read_flash(request: Request, login: Login) -> str | None:
    """The flash message the last action left for this session, if any."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _sign(login, payload).encode()):
        return None
    try:
        text = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    return text if isinstance(text, str) else None
