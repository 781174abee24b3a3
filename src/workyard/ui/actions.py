"""The dashboard's actions: each a POST through the same services and permission checks as the API.

Every POST passes :func:`run_action`: a same-origin ``Origin``/``Referer``, a live dashboard
session and its CSRF token, or a page saying why nothing was changed. A destructive action first
shows a confirmation page (``GET`` of its URL, or a POST without ``confirm=yes``); its outcome is a
flash message on the page it returns to, or, when it fails (a stale page: the item already
stopped), a page with the API's message. Nothing here needs JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workyard.api.inputs import path_id
from workyard.clock import Instant
from workyard.domain import work as wm
from workyard.domain.environments import validate_config
from workyard.domain.events import validate_events
from workyard.domain.limits import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from workyard.domain.models import WorkItem, WorkState
from workyard.errors import ConflictError, InvalidRequestError, WorkyardError
from workyard.service.auth import Principal
from workyard.service.container import Services
from workyard.ui import auth
from workyard.ui.routes import _login_page, _page, _render, _services, router

__all__ = [
    "Confirm",
    "Done",
    "Forms",
    "confirm_page",
    "form_text",
    "refused",
    "run_action",
    "safe_next",
    "stale",
]

_NEXT = re.compile(r"/ui(/[A-Za-z0-9_.-]+)*/?(\?[A-Za-z0-9_.=&%-]*)?")


@dataclass(frozen=True, slots=True)
class Done:
    """A finished action: what to tell the user, and where to send them."""

    message: str
    location: str


@dataclass(frozen=True, slots=True)
class Confirm:
    """A confirmation page: the question, the POST it confirms and its hidden fields."""

    title: str
    question: str
    action: str
    button: str
    back: str
    fields: dict[str, str] = field(default_factory=dict)


Do = Callable[[Services, Principal, dict[str, str]], Awaitable[Done | Response]]
Ask = Callable[[Services, Principal, dict[str, str]], Awaitable[Confirm]]
Forms = tuple[Ask | None, Do, str]  # confirm (if it asks first), do, the page to go back to


def safe_next(value: str | None, default: str) -> str:
    """``value`` if it is a dashboard path (never another site), else ``default``."""
    return value if value is not None and _NEXT.fullmatch(value) else default


def refused(request: Request, error: WorkyardError, back: str) -> Response:
    """A page saying why nothing was changed (not refreshed: its URL is the POST's)."""
    return _render(
        request, "action_error.html", error.status, logged_in=False, status=error.status,
        message=error.message, back=back,
    )  # fmt: skip


async def run_action(request: Request, forms: Callable[[], Forms]) -> Response:
    """Check origin, session and CSRF token; then build the action's ``forms`` (its path ids may be
    a 404), confirm if it asks first, and do it; report the outcome."""
    back = "/ui"
    try:
        auth.check_origin(request)
    except WorkyardError as error:
        return refused(request, error, back)
    login = await auth.current_login(request)
    if login is None:
        return _login_page(request, 401, auth.expired_error().message)
    request.state.login = login
    try:
        form = await auth.read_form(request)
        auth.check_csrf(form, login.session_id)
        ask, do, back = forms()
    except WorkyardError as error:
        return refused(request, error, back)
    back = safe_next(form.get("next"), back)
    svc = _services(request)
    try:
        if ask is not None and form.get("confirm") != "yes":
            return _render(request, "confirm.html", page=await ask(svc, login.principal, form))
        done = await do(svc, login.principal, form)
    except WorkyardError as error:
        return refused(request, error, back)
    if isinstance(done, Response):
        return done
    response = RedirectResponse(safe_next(done.location, back), status_code=303)
    auth.set_cookie(request, response, auth.FLASH_COOKIE, auth.flash_value(login, done.message))
    return response


async def confirm_page(request: Request, forms: Callable[[], Forms]) -> Response:
    """``GET`` of an action's URL: its confirmation page (changes nothing)."""
    query = dict(request.query_params)

    async def load(svc: Services, principal: Principal) -> Confirm:
        ask, _, _ = forms()
        assert ask is not None, "only actions that ask first have a confirmation page"
        return await ask(svc, principal, query)

    return await _page(request, "confirm.html", load)


def stale(message: str) -> ConflictError:
    return ConflictError(f"{message} (nothing was changed).")


# work items ---------------------------------------------------------------------------------
def _stop_forms(environment_id: str, work_id: str) -> Forms:
    env_id = path_id("env", environment_id, "Environment")
    wid = path_id("work", work_id, f"Work item (in environment {env_id})")
    url = f"/ui/environments/{env_id}/work/{wid}/stop"

    async def ask(svc: Services, principal: Principal, form: dict[str, str]) -> Confirm:
        item = await svc.queue.get(principal, env_id, wid)
        if item.state is WorkState.STOPPED:  # a stale link: say so before asking
            raise stale(f"Work item {item.id} has already stopped")
        force = form.get("force") == "1"
        if force:
            question = (f"Force-stop work item {item.id} ({item.state.value})? It stops at once; "
                        "its worker is not asked to finish and its credential dies.")  # fmt: skip
        else:
            question = (f"Stop work item {item.id} ({item.state.value})? A running item is asked "
                        "to stop and its worker confirms; a queued one stops at once.")  # fmt: skip
        back = safe_next(form.get("next"), f"/ui/sessions/{item.session_id}")
        title = "Force stop" if force else "Stop"
        fields = {"force": "1" if force else "0", "next": back}
        return Confirm(f"{title} a work item", question, url, title, back, fields)

    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Done:
        force = form.get("force") == "1"

        def stop(item: WorkItem, now: Instant) -> WorkItem:
            if item.state is WorkState.STOPPED:
                raise stale(f"Work item {item.id} has already stopped")
            return wm.stop(item, force, now)

        item = await svc.queue.mutate(principal, env_id, wid, stop, own_item=True)
        if item.state is WorkState.STOPPED:
            text = f"Work item {item.id} stopped."
        else:
            text = f"Work item {item.id} is stopping: its worker was asked to stop."
        return Done(text, safe_next(form.get("next"), f"/ui/sessions/{item.session_id}"))

    return ask, do, f"/ui/environments/{env_id}"


@router.get("/environments/{environment_id}/work/{work_id}/stop")
async def stop_work_form(request: Request, environment_id: str, work_id: str) -> Response:
    return await confirm_page(request, lambda: _stop_forms(environment_id, work_id))


@router.post("/environments/{environment_id}/work/{work_id}/stop")
async def stop_work(request: Request, environment_id: str, work_id: str) -> Response:
    return await run_action(request, lambda: _stop_forms(environment_id, work_id))


# sessions -----------------------------------------------------------------------------------
_RUNNING = (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING)
_SESSION_QUESTIONS = {
    "archive": ("Archive", "Its live work is asked to stop; it accepts no new messages."),
    "cancel": ("Cancel", "The agent is interrupted; the session stays open for new messages."),
    "delete": (
        "Delete",
        "Its work stops at once and its events are deleted: there is no undo.",
    ),
}


def _session_forms(session_id: str, verb: str) -> Forms:
    sid = path_id("sess", session_id, "Session")
    back = f"/ui/sessions/{sid}"

    async def ask(svc: Services, principal: Principal, form: dict[str, str]) -> Confirm:
        session = await svc.sessions.get(principal, sid)
        if verb == "archive" and session.archived_at is not None:
            raise stale(f"Session {sid} is already archived")
        if verb == "cancel" and session.work_state not in _RUNNING:
            raise stale(f"Session {sid} is not running, so there is nothing to cancel")
        button, effect = _SESSION_QUESTIONS[verb]
        name = f"“{session.title}” ({sid})" if session.title else sid
        question = f"{button} session {name}? {effect}"
        return Confirm(f"{button} a session", question, f"{back}/{verb}", button, back)

    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Done:
        session = await svc.sessions.get(principal, sid)
        if verb == "archive":
            if session.archived_at is not None:
                raise stale(f"Session {sid} is already archived")
            await svc.sessions.archive(principal, sid)
            return Done("Session archived: its work was asked to stop.", back)
        if verb == "cancel":
            if not (await svc.events.cancel(principal, sid)).accepted:
                raise stale(f"Session {sid} is not running, so there is nothing to cancel")
            return Done("Cancel requested: the agent was sent an interrupt.", back)
        await svc.sessions.delete(principal, sid)
        return Done(f"Session {sid} deleted.", f"/ui/environments/{session.environment_id}")

    return ask, do, back


def _session_routes(verb: str) -> None:
    async def form(request: Request, session_id: str) -> Response:
        return await confirm_page(request, lambda: _session_forms(session_id, verb))

    async def act(request: Request, session_id: str) -> Response:
        return await run_action(request, lambda: _session_forms(session_id, verb))

    router.get(f"/sessions/{{session_id}}/{verb}")(form)
    router.post(f"/sessions/{{session_id}}/{verb}")(act)


for _verb in _SESSION_QUESTIONS:
    _session_routes(_verb)


@router.post("/sessions/{session_id}/events")
async def send_message(request: Request, session_id: str) -> Response:
    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Done:
        sid = path_id("sess", session_id, "Session")
        text = form.get("text", "").strip()
        if not text:
            raise InvalidRequestError("Write a message first (nothing was sent).")
        drafts = validate_events([{"type": "user.message", "content": text}])
        await svc.events.send(principal, sid, drafts)
        return Done("Message sent.", f"/ui/sessions/{sid}")

    back = safe_next(f"/ui/sessions/{session_id}", "/ui")
    return await run_action(request, lambda: (None, do, back))


# environments -------------------------------------------------------------------------------
def form_text(form: dict[str, str], name: str, label: str, limit: int, required: bool) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise InvalidRequestError(f"{label} is required (nothing was created).", param=name)
    if len(value) > limit:
        raise InvalidRequestError(f"{label} is longer than {limit} characters.", param=name)
    return value


@router.post("/environments")
async def create_environment(request: Request) -> Response:
    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Done:
        name = form_text(form, "name", "A name", MAX_NAME_LENGTH, True)
        description = form_text(
            form, "description", "The description", MAX_DESCRIPTION_LENGTH, False
        )
        config = validate_config({"type": form.get("type", "self_hosted")})
        env = await svc.environments.create(principal, name, description, config, {})
        return Done(f"Environment “{env.name}” created.", f"/ui/environments/{env.id}")

    return await run_action(request, lambda: (None, do, "/ui"))


def _archive_environment_forms(environment_id: str) -> Forms:
    env_id = path_id("env", environment_id, "Environment")
    back = f"/ui/environments/{env_id}"

    async def ask(svc: Services, principal: Principal, form: dict[str, str]) -> Confirm:
        env = await svc.environments.get(principal, env_id)
        if env.archived_at is not None:
            raise stale(f"Environment {env_id} is already archived")
        question = (f"Archive environment “{env.name}” ({env_id})? It accepts no new sessions "
                    "or work; what runs now goes on.")  # fmt: skip
        return Confirm("Archive an environment", question, f"{back}/archive", "Archive", back)

    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Done:
        env = await svc.environments.get(principal, env_id)
        if env.archived_at is not None:
            raise stale(f"Environment {env_id} is already archived")
        await svc.environments.archive(principal, env_id)
        return Done(f"Environment “{env.name}” archived.", "/ui")

    return ask, do, back


@router.get("/environments/{environment_id}/archive")
async def archive_environment_form(request: Request, environment_id: str) -> Response:
    return await confirm_page(request, lambda: _archive_environment_forms(environment_id))


@router.post("/environments/{environment_id}/archive")
async def archive_environment(request: Request, environment_id: str) -> Response:
    return await run_action(request, lambda: _archive_environment_forms(environment_id))
