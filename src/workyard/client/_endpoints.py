"""Every API operation, written once: a function returning the :class:`Call` to execute.

The sync and async clients expose these functions as methods (``client.environments.create`` is
:func:`create_environment`), so signatures and docstrings live here only. Paths are relative to the
API prefix ``/api/v1/cloud``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Unpack

from workyard.client._base import (
    NOT_GIVEN,
    Call,
    NotGiven,
    ReconnectHook,
    RequestOptions,
    RequestSpec,
    StreamCall,
    call,
    object_decoder,
    page_decoder,
    path,
)
from workyard.client._events import Cancellation, Event, event_from_frame, events_from_data
from workyard.client._models import (
    Deleted,
    Environment,
    Page,
    Session,
)
from workyard.client._parts import body as _body
from workyard.client._parts import page_params as _page_params
from workyard.client._parts import params as _params
from workyard.client._sse import ReconnectPolicy
from workyard.client._work_endpoints import (
    MetadataPatch,
    ack_work,
    heartbeat_work,
    list_work,
    poll_work,
    retrieve_work,
    stop_work,
    update_work,
    work_stats,
)

__all__ = [
    "ack_work",
    "archive_environment",
    "archive_session",
    "cancel_session",
    "create_environment",
    "create_session",
    "delete_environment",
    "delete_session",
    "heartbeat_work",
    "list_environments",
    "list_session_events",
    "list_sessions",
    "list_work",
    "poll_work",
    "retrieve_environment",
    "retrieve_session",
    "retrieve_work",
    "send_session_events",
    "stop_work",
    "stream_session_events",
    "update_environment",
    "update_session",
    "update_work",
    "work_stats",
]

_environment = object_decoder(Environment.from_dict)
_session = object_decoder(Session.from_dict)
_deleted = object_decoder(Deleted.from_dict)


# Environments


def create_environment(
    name: str,
    *,
    description: str | None = None,
    config: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Environment]:
    """Create an environment; ``config`` e.g. ``{"type": "self_hosted"}``; omitted means cloud."""
    body = _body(name=name, description=description, config=config, metadata=metadata)
    return call(RequestSpec("POST", "/environments", body=body), _environment, options)


def retrieve_environment(
    environment_id: str, **options: Unpack[RequestOptions]
) -> Call[Environment]:
    """Get one environment (archived ones too)."""
    request = RequestSpec("GET", path("/environments/{}", environment_id))
    return call(request, _environment, options)


def update_environment(
    environment_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    config: Mapping[str, Any] | None = None,
    metadata: MetadataPatch | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Environment]:
    """Change the given fields; ``metadata`` is a merge patch (a ``None`` value deletes the key)."""
    body = _body(name=name, description=description, config=config, metadata=metadata)
    request = RequestSpec("POST", path("/environments/{}", environment_id), body=body)
    return call(request, _environment, options)


def list_environments(
    *,
    include_archived: bool | None = None,
    limit: int | None = None,
    page: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Page[Environment]]:
    """One page of environments, newest first."""
    params = (
        *_params(("include_archived", include_archived)),
        *_page_params(limit, page, after_id, before_id),
    )
    request = RequestSpec("GET", "/environments", params=params)
    return call(request, page_decoder(Environment.from_dict), options)


def archive_environment(
    environment_id: str, **options: Unpack[RequestOptions]
) -> Call[Environment]:
    """Archive an environment (idempotent); its running work keeps flowing."""
    request = RequestSpec("POST", path("/environments/{}/archive", environment_id))
    return call(request, _environment, options)


def delete_environment(environment_id: str, **options: Unpack[RequestOptions]) -> Call[Deleted]:
    """Delete an environment that no session references (admin tokens only)."""
    return call(RequestSpec("DELETE", path("/environments/{}", environment_id)), _deleted, options)


# Sessions


def create_session(
    environment_id: str,
    *,
    agent: Any = None,
    title: str | None = None,
    metadata: Mapping[str, str] | None = None,
    initial_events: Sequence[Mapping[str, Any]] | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Session]:
    """Create a session in a self-hosted environment, which enqueues its first work item."""
    events = list(initial_events) if initial_events is not None else None
    body = _body(
        environment_id=environment_id,
        agent=agent,
        title=title,
        metadata=metadata,
        initial_events=events,
    )
    return call(RequestSpec("POST", "/sessions", body=body), _session, options)


def retrieve_session(session_id: str, **options: Unpack[RequestOptions]) -> Call[Session]:
    """Get one session."""
    return call(RequestSpec("GET", path("/sessions/{}", session_id)), _session, options)


def update_session(
    session_id: str,
    *,
    title: str | NotGiven | None = NOT_GIVEN,
    metadata: MetadataPatch | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Session]:
    """Change the title (``None`` clears it) and/or merge-patch the metadata."""
    body: dict[str, Any] = _body(metadata=metadata)
    if not isinstance(title, NotGiven):
        body["title"] = title
    request = RequestSpec("POST", path("/sessions/{}", session_id), body=body)
    return call(request, _session, options)


def list_sessions(
    *,
    environment_id: str | None = None,
    statuses: Iterable[str] | None = None,
    include_archived: bool | None = None,
    order: str | None = None,
    limit: int | None = None,
    page: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Page[Session]]:
    """One page of sessions (``order`` ``desc``, the default, or ``asc``)."""
    params = (
        *_params(("environment_id", environment_id)),
        *(("statuses[]", status) for status in statuses or ()),
        *_params(("include_archived", include_archived), ("order", order)),
        *_page_params(limit, page, after_id, before_id),
    )
    request = RequestSpec("GET", "/sessions", params=params)
    return call(request, page_decoder(Session.from_dict), options)


def archive_session(session_id: str, **options: Unpack[RequestOptions]) -> Call[Session]:
    """Archive a session; its live work item gets a graceful stop."""
    request = RequestSpec("POST", path("/sessions/{}/archive", session_id))
    return call(request, _session, options)


def delete_session(session_id: str, **options: Unpack[RequestOptions]) -> Call[Deleted]:
    """Delete a session and its events; its live work item is force-stopped."""
    return call(RequestSpec("DELETE", path("/sessions/{}", session_id)), _deleted, options)


def cancel_session(session_id: str, **options: Unpack[RequestOptions]) -> Call[Cancellation]:
    """Interrupt a running session (a ``user.interrupt`` is appended); ``status: canceling``."""
    request = RequestSpec("POST", path("/sessions/{}/cancel", session_id))
    return call(request, object_decoder(Cancellation.from_dict), options)


# Session events


def send_session_events(
    session_id: str, events: Sequence[Mapping[str, Any]], **options: Unpack[RequestOptions]
) -> Call[list[Event]]:
    """Append 1-100 events, e.g. ``[{"type": "user.message", "content": "hi"}]``; the created
    events come back in order (a ``user.message`` to an idle session enqueues new work)."""
    body = {"events": [dict(event) for event in events]}
    request = RequestSpec("POST", path("/sessions/{}/events", session_id), body=body)
    return call(request, events_from_data, options)


def list_session_events(
    session_id: str,
    *,
    order: str | None = None,
    types: Iterable[str] | None = None,
    created_at_gt: str | None = None,
    created_at_gte: str | None = None,
    created_at_lt: str | None = None,
    created_at_lte: str | None = None,
    limit: int | None = None,
    page: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    **options: Unpack[RequestOptions],
) -> Call[Page[Event]]:
    """One page of a session's events, oldest first (``order="desc"``: newest first);
    ``types`` filters (e.g. ``["user.message"]``); ``created_at_*`` take RFC 3339 times."""
    params = (
        *_params(("order", order)),
        *(("types[]", kind) for kind in types or ()),
        *_params(
            ("created_at[gt]", created_at_gt),
            ("created_at[gte]", created_at_gte),
            ("created_at[lt]", created_at_lt),
            ("created_at[lte]", created_at_lte),
        ),
        *_page_params(limit, page, after_id, before_id),
    )
    request = RequestSpec("GET", path("/sessions/{}/events", session_id), params=params)
    return call(request, page_decoder(Event.from_dict), options)


def stream_session_events(
    session_id: str,
    last_event_id: str | None = None,
    *,
    reconnect: ReconnectPolicy | None = None,
    on_reconnect: ReconnectHook | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, Any] | None = None,
) -> StreamCall[Event]:
    """Follow a session's events live (Server-Sent Events), from the first one or from right
    after ``last_event_id``. A dropped connection is resumed with ``Last-Event-ID`` (no gap, no
    duplicate) after a backoff with jitter (``reconnect``; ``on_reconnect(reason, delay)`` is
    told); the stream ends when the session is deleted (404 after a successful connection)."""
    request = RequestSpec("GET", path("/sessions/{}/events/stream", session_id)).with_options(
        {"extra_headers": extra_headers, "extra_query": extra_query}
    )
    return StreamCall(
        request, event_from_frame, last_event_id, reconnect or ReconnectPolicy(), on_reconnect
    )
