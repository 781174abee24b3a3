"""``/sessions`` (spec/sessions.md, everything above "Events")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from workyard.api import wire
from workyard.api.inputs import body_str, path_id, query_bool, query_str, query_ts, read_body
from workyard.api.router import Routes
from workyard.api.routes.common import authenticate, json_response, pagination, services
from workyard.domain.agents import validate_agent
from workyard.domain.events import USER_TYPES, validate_events
from workyard.domain.limits import MAX_TITLE_LENGTH, clip
from workyard.domain.metadata import validate_metadata, validate_patch
from workyard.domain.models import WorkState
from workyard.errors import InvalidRequestError, NotFoundError
from workyard.ids import is_id
from workyard.service.sessions import UNSET, SessionChanges
from workyard.store import SessionFilter

__all__ = ["router"]

router = Routes()
_MAX_TITLE = MAX_TITLE_LENGTH
_STATES_BY_STATUS = {
    "rescheduling": (WorkState.QUEUED,),
    "running": (WorkState.STARTING, WorkState.ACTIVE, WorkState.STOPPING),
    "idle": (WorkState.STOPPED,),
}


@router.post("/sessions")
async def create_session(request: Request) -> Response:
    principal = await authenticate(request)
    body = await read_body(request, required=True)
    env_id = body_str(body, "environment_id", required=True)
    title = body_str(body, "title", nullable=True, max_len=_MAX_TITLE)
    metadata = validate_metadata(body["metadata"]) if body.get("metadata") is not None else {}
    agent = validate_agent(body.get("agent"))
    initial = body.get("initial_events")
    drafts = [] if initial is None else validate_events(initial, "initial_events")
    for n, draft in enumerate(drafts):
        if draft.type not in USER_TYPES:
            raise InvalidRequestError(
                "initial_events may only hold user events", param=f"initial_events[{n}].type"
            )
    if not is_id("env", env_id):
        raise NotFoundError(f"Environment {clip(env_id)} not found.", param="environment_id")
    session = await services(request).sessions.create(
        principal, env_id, agent, title, metadata, drafts
    )
    return json_response(wire.session(session), 201)


def _statuses(request: Request) -> tuple[WorkState, ...] | None:
    values = request.query_params.getlist("statuses[]") + request.query_params.getlist("statuses")
    if not values:
        return None
    states: list[WorkState] = []
    for value in values:
        for status in value.split(","):
            if status not in _STATES_BY_STATUS:
                raise InvalidRequestError(
                    "statuses[] must be rescheduling, running or idle", param="statuses[]"
                )
            states.extend(_STATES_BY_STATUS[status])
    return tuple(states)


@router.get("/sessions")
async def list_sessions(request: Request) -> Response:
    principal = await authenticate(request)
    page = pagination(request, "sess")
    order = query_str(request, "order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order must be asc or desc", param="order")
    env_id = query_str(request, "environment_id")
    flt = SessionFilter(
        environment_id=env_id,
        states=_statuses(request),
        include_archived=query_bool(request, "include_archived"),
        created_gt=query_ts(request, "created_at[gt]"),
        created_gte=query_ts(request, "created_at[gte]"),
        created_lt=query_ts(request, "created_at[lt]"),
        created_lte=query_ts(request, "created_at[lte]"),
    )
    result = await services(request).sessions.list(principal, flt, page, order == "desc")
    return json_response(wire.page(result, wire.session, lambda s: s.id))


@router.get("/sessions/{session_id}")
async def get_session(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    sid = path_id("sess", session_id, "Session")
    return json_response(wire.session(await services(request).sessions.get(principal, sid)))


@router.post("/sessions/{session_id}")
async def update_session(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    body = await read_body(request)
    title = body_str(body, "title", nullable=True, max_len=_MAX_TITLE) if "title" in body else UNSET
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequestError("metadata must be an object", param="metadata")
    if metadata is not None:
        validate_patch(metadata)  # 400 before 404
    sid = path_id("sess", session_id, "Session")
    changes = SessionChanges(title=title, metadata=metadata)
    session = await services(request).sessions.update(principal, sid, changes)
    return json_response(wire.session(session))


@router.post("/sessions/{session_id}/archive")
async def archive_session(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    await read_body(request)
    sid = path_id("sess", session_id, "Session")
    return json_response(wire.session(await services(request).sessions.archive(principal, sid)))


@router.delete("/sessions/{session_id}")
async def delete_session(request: Request, session_id: str) -> Response:
    principal = await authenticate(request)
    await read_body(request)
    sid = path_id("sess", session_id, "Session")
    await services(request).sessions.delete(principal, sid)
    return json_response({"id": sid, "type": "session_deleted"})
