"""Which named query writes or exports each record type (the same names in every backend)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workyard.domain.models import Environment, Event, Session, TokenRecord, WorkItem
from workyard.store import codec

__all__ = ["DELETE", "EXPORT", "INSERT", "PARAMS", "REPLACE"]

INSERT: dict[type, str] = {
    TokenRecord: "insert_token",
    Environment: "insert_environment",
    Session: "insert_session",
    WorkItem: "insert_work",
    Event: "insert_event",
}
REPLACE: dict[type, str] = {
    TokenRecord: "replace_token",
    Environment: "replace_environment",
    Session: "replace_session",
    WorkItem: "replace_work",
}
PARAMS: dict[type, Callable[[Any], dict[str, Any]]] = {
    TokenRecord: codec.token_params,
    Environment: codec.environment_params,
    Session: codec.session_params,
    WorkItem: codec.work_params,
    Event: codec.event_params,
}
DELETE: dict[type, str] = {Environment: "delete_environment"}
EXPORT: dict[type, tuple[str, Callable[[Any], Any]]] = {
    TokenRecord: ("export_tokens", codec.token_from_row),
    Environment: ("export_environments", codec.environment_from_row),
    Session: ("export_sessions", codec.session_from_row),
    WorkItem: ("export_work", codec.work_from_row),
    Event: ("export_events", codec.event_from_row),
}
