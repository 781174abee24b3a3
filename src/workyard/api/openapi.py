"""The OpenAPI 3.1 document of the API, declared here once (routes read their input by hand).

Served at ``/openapi.json`` and rendered at ``/docs``. Every operation lists its parameters, its
request body and its responses, with the object schemas of :mod:`workyard.api.openapi_schemas`.
"""

from __future__ import annotations

from typing import Any

from workyard.api.openapi_schemas import SCHEMAS, ref
from workyard.domain import limits as lim

__all__ = ["build_openapi"]

Schema = dict[str, Any]
_P = "/api/v1/cloud"
_ENV = f"{_P}/environments/{{environment_id}}"
_SESS = f"{_P}/sessions/{{session_id}}"
_WORK = f"{_ENV}/work"
_ITEM = f"{_WORK}/{{work_id}}"
_TS: Schema = {"type": "string", "format": "date-time"}


def _path(name: str, prefix: str) -> Schema:
    schema = {"type": "string", "pattern": f"^{prefix}_[0-9a-f]{{32}}$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    param: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


_ENV_ID = _path("environment_id", "env")
_SESS_ID = _path("session_id", "sess")
_WORK_ID = _path("work_id", "work")
_WORKER_ID: Schema = {
    "name": "Worker-ID",
    "in": "header",
    "required": False,
    "description": "The polling worker's identity (1-128 printable characters).",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": lim.MAX_WORKER_ID_LENGTH,
        "pattern": f"^{lim.PRINTABLE}+$",
    },
}
_IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry: a retry with the same key and request gets the "
    "first response again (header Idempotent-Replayed: true). Kept 24 h per token.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": lim.MAX_IDEMPOTENCY_KEY_LENGTH,
        "pattern": f"^{lim.PRINTABLE}+$",
    },
}
_PAGING = [
    _query("limit", {"type": "integer", "minimum": 1}, "Page size (default 20, capped at 100)."),
    _query("page", {"type": "string"}, "The next_page cursor of a previous response."),
    _query("after_id", {"type": "string"}),
    _query("before_id", {"type": "string"}),
]
_ORDER = _query("order", {"enum": ["asc", "desc"]})
_INCLUDE_ARCHIVED = _query("include_archived", {"type": "boolean"})


def _created(*bounds: str) -> list[Schema]:
    return [_query(f"created_at[{b}]", _TS) for b in bounds]


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    tag: str,
    ok: tuple[int, Schema],
    params: list[Schema] | None = None,
    body: Schema | None = None,
) -> Schema:
    status, schema = ok
    op: Schema = {
        "summary": summary,
        "tags": [tag],
        "parameters": params or [],
        "responses": {
            str(status): {"description": "Success", **_json(schema)},
            "4XX": {"description": "Client error", **_json(ref("Error"))},
            "5XX": {"description": "Server unavailable or failed", **_json(ref("Error"))},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": False, **_json(body)}
    return op


def _body(properties: Schema, required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _environment_paths() -> dict[str, Schema]:
    name = {"type": "string", "minLength": 1, "maxLength": lim.MAX_NAME_LENGTH}
    fields = {
        "name": name,
        "description": {"type": ["string", "null"], "maxLength": lim.MAX_DESCRIPTION_LENGTH},
        "config": ref("EnvironmentConfig"),
    }
    create = _body({**fields, "metadata": ref("Metadata")}, ("name",))
    update = _body({**fields, "metadata": ref("MetadataPatch")})
    env = (200, ref("Environment"))
    return {
        f"{_P}/environments": {
            "post": _op(
                "Create an environment", "environments", (201, ref("Environment")), [], create
            ),
            "get": _op(
                "List environments (newest first)",
                "environments",
                (200, ref("EnvironmentPage")),
                [_INCLUDE_ARCHIVED, *_created("gte", "lte"), *_PAGING],
            ),
        },
        _ENV: {
            "get": _op("Get an environment", "environments", env, [_ENV_ID]),
            "post": _op("Update an environment", "environments", env, [_ENV_ID], update),
            "delete": _op(
                "Delete an unreferenced environment (admin)",
                "environments",
                (200, ref("Deleted")),
                [_ENV_ID],
            ),
        },
        f"{_ENV}/archive": {
            "post": _op("Archive an environment", "environments", env, [_ENV_ID]),
        },
    }


def _session_paths() -> dict[str, Schema]:
    title = {"type": ["string", "null"], "maxLength": lim.MAX_TITLE_LENGTH}
    create = _body(
        {
            "environment_id": {"type": "string"},
            "agent": {
                "description": f"An agent id (at most {lim.MAX_AGENT_ID_LENGTH} characters) or an "
                f"object (at most {lim.MAX_AGENT_BYTES // 1024} KiB as JSON).",
                "anyOf": [
                    {"type": "string", "maxLength": lim.MAX_AGENT_ID_LENGTH},
                    {"type": "object"},
                    {"type": "null"},
                ],
            },
            "title": title,
            "metadata": ref("Metadata"),
            "initial_events": {
                "type": "array",
                "minItems": 1,
                "maxItems": lim.MAX_EVENTS_PER_REQUEST,
                "items": ref("EventInput"),
            },
        },
        ("environment_id",),
    )
    statuses = {"type": "array", "items": {"enum": ["rescheduling", "running", "idle"]}}
    listing = [
        _ORDER,
        _query("environment_id", {"type": "string"}),
        _query("statuses[]", statuses),
        _INCLUDE_ARCHIVED,
        *_created("gt", "gte", "lt", "lte"),
        *_PAGING,
    ]
    session = (200, ref("Session"))
    update = _body({"title": title, "metadata": ref("MetadataPatch")})
    return {
        f"{_P}/sessions": {
            "post": _op(
                "Create a session and queue its work", "sessions", (201, ref("Session")), [], create
            ),
            "get": _op("List sessions", "sessions", (200, ref("SessionPage")), listing),
        },
        _SESS: {
            "get": _op("Get a session", "sessions", session, [_SESS_ID]),
            "post": _op("Update a session", "sessions", session, [_SESS_ID], update),
            "delete": _op(
                "Delete a session and its events", "sessions", (200, ref("Deleted")), [_SESS_ID]
            ),
        },
        f"{_SESS}/archive": {
            "post": _op(
                "Archive a session (stops its work gracefully)", "sessions", session, [_SESS_ID]
            ),
        },
        f"{_SESS}/cancel": {"post": _cancel()},
    }


def _cancel() -> Schema:
    op = _op("Interrupt the current turn", "sessions", (202, ref("Cancellation")), [_SESS_ID])
    op["responses"]["200"] = {"description": "Not running: nothing to interrupt"}
    op["responses"]["200"].update(_json(ref("Cancellation")))
    return op


def _event_paths() -> dict[str, Schema]:
    send = _body(
        {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": lim.MAX_EVENTS_PER_REQUEST,
                "items": ref("EventInput"),
            }
        },
        ("events",),
    )
    types = {"type": "array", "items": {"type": "string"}}
    listing = [_SESS_ID, _ORDER, _query("types[]", types), *_created("gt", "gte", "lt", "lte")]
    stream = _op("Follow the events live (Server-Sent Events)", "events", (200, {}), [_SESS_ID])
    stream["responses"]["200"] = {
        "description": "id:/event:/data: frames; resume with the Last-Event-ID header",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
    return {
        f"{_SESS}/events": {
            "post": _op(
                "Append events (all or none)", "events", (200, ref("EventList")), [_SESS_ID], send
            ),
            "get": _op("List events", "events", (200, ref("EventPage")), [*listing, *_PAGING]),
        },
        f"{_SESS}/events/stream": {"get": stream},
    }


def _work_paths() -> dict[str, Schema]:
    item = (200, ref("WorkItem"))
    ids = [_ENV_ID, _WORK_ID]
    states = "One or more of queued, starting, active, stopping, stopped, comma-separated."
    poll = [
        _ENV_ID,
        _query("block_ms", {"type": "integer", "minimum": 1, "maximum": 999}),
        _query("reclaim_older_than_ms", {"type": "integer", "minimum": 0}),
        _WORKER_ID,
    ]
    heartbeat = [
        *ids,
        _query(
            "expected_last_heartbeat",
            {"type": "string"},
            "NO_HEARTBEAT, or the last_heartbeat of the previous heartbeat.",
        ),
        _query("desired_ttl_seconds", {"type": "integer", "minimum": 1}, "Clamped to 10-600."),
    ]
    polled = {"anyOf": [ref("WorkItem"), {"type": "null"}]}
    return {
        _WORK: {
            "get": _op(
                "List work items (queue order)",
                "work",
                (200, ref("WorkPage")),
                [_ENV_ID, _query("state", {"type": "string"}, states), *_PAGING],
            ),
        },
        f"{_WORK}/poll": {
            "get": _op("Receive the next deliverable item, or null", "work", (200, polled), poll)
        },
        f"{_WORK}/stats": {
            "get": _op("Queue counters", "work", (200, ref("QueueStats")), [_ENV_ID]),
        },
        _ITEM: {
            "get": _op("Get a work item", "work", item, ids),
            "post": _op(
                "Merge-patch a work item's metadata",
                "work",
                item,
                ids,
                _body({"metadata": ref("MetadataPatch")}),
            ),
        },
        f"{_ITEM}/ack": {"post": _op("Claim a delivered item", "work", item, [*ids, _WORKER_ID])},
        f"{_ITEM}/heartbeat": {
            "post": _op("Extend the lease", "work", (200, ref("Heartbeat")), heartbeat),
        },
        f"{_ITEM}/stop": {
            "post": _op(
                "Stop gracefully (two steps) or with force",
                "work",
                item,
                ids,
                _body({"force": {"type": "boolean"}}),
            ),
        },
    }


def build_openapi(title: str, version: str, summary: str) -> Schema:
    """The whole document: every API operation, with bearer authentication."""
    paths = {
        **_environment_paths(),
        **_session_paths(),
        **_event_paths(),
        **_work_paths(),
    }
    for operations in paths.values():
        if "post" in operations:
            post = operations["post"]
            post["parameters"] = [*post["parameters"], _IDEMPOTENCY_KEY]
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "summary": summary},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
