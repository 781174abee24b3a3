"""JSON Schemas of the API's objects, for the OpenAPI document (``/openapi.json``, ``/docs``).

They describe exactly what the server sends and accepts; ``tests/api/test_openapi_fuzz.py`` drives
every operation with generated requests and checks each response against them.
"""

from __future__ import annotations

from typing import Any

from workyard.domain import limits as lim
from workyard.domain.metadata import MAX_KEY_LENGTH, MAX_KEYS, MAX_VALUE_LENGTH

__all__ = ["SCHEMAS", "ref"]

Schema = dict[str, Any]

_TS: Schema = {"type": "string", "format": "date-time", "example": "2026-11-30T09:12:06.120394Z"}
_TS_OR_NULL: Schema = {"anyOf": [_TS, {"type": "null"}]}
_STR_OR_NULL: Schema = {"type": ["string", "null"]}
_WORK_STATES = ["queued", "starting", "active", "stopping", "stopped"]
_SESSION_STATUSES = ["rescheduling", "running", "idle"]
_ERROR_TYPES = [
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "precondition_failed_error",
    "api_error",
    "overloaded_error",
]


def ref(name: str) -> Schema:
    """A reference to one of :data:`SCHEMAS`."""
    return {"$ref": f"#/components/schemas/{name}"}


def _id(prefix: str) -> Schema:
    return {"type": "string", "pattern": f"^{prefix}_[0-9a-f]{{32}}$"}


def _object(properties: dict[str, Schema], *, extra: bool = False) -> Schema:
    """An object whose properties are all required (the server always sends every field)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": extra,
    }


def _const(value: str) -> Schema:
    return {"type": "string", "const": value}


def _page(item: str) -> Schema:
    return _object(
        {
            "data": {"type": "array", "items": ref(item)},
            "first_id": _STR_OR_NULL,
            "last_id": _STR_OR_NULL,
            "has_more": {"type": "boolean"},
            "next_page": _STR_OR_NULL,
        }
    )


_METADATA: Schema = {
    "type": "object",
    "maxProperties": MAX_KEYS,
    "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE_LENGTH},
}
_METADATA_PATCH: Schema = {
    "type": "object",
    "description": "Merge patch: a string sets the key, null deletes it, absent keys are kept.",
    "additionalProperties": {"type": ["string", "null"]},
}
_CONTENT: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"type": {"type": "string"}, "text": {"type": "string"}},
        "required": ["type"],
    },
}
_NETWORKING: Schema = {
    "type": "object",
    "properties": {
        "type": {"enum": ["unrestricted", "limited", "allowed_hosts"]},
        "allowed_hosts": {
            "type": "array",
            "maxItems": lim.MAX_HOSTS,
            "items": {"type": "string", "minLength": 1, "maxLength": lim.MAX_HOST_LENGTH},
        },
        "allow_package_managers": {"type": "boolean"},
        "allow_mcp_servers": {"type": "boolean"},
    },
    "required": ["type"],
}
_CONFIG: Schema = {
    "type": "object",
    "description": 'self_hosted, or cloud ("managed" is read as "cloud"), validated only.',
    "properties": {
        "type": {"enum": ["self_hosted", "cloud", "managed"]},
        "networking": _NETWORKING,
        "packages": {
            "type": "object",
            "properties": {
                name: {
                    "type": "array",
                    "maxItems": lim.MAX_PACKAGES,
                    "items": {"type": "string", "maxLength": lim.MAX_PACKAGE_LENGTH},
                }
                for name in ("apt", "pip", "npm")
            },
        },
        "setup_script": {
            "type": "string",
            "description": f"At most {lim.MAX_SETUP_SCRIPT_BYTES // 1024} KiB as UTF-8.",
            "maxLength": lim.MAX_SETUP_SCRIPT_BYTES,
        },
    },
    "required": ["type"],
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {
            "type": _const("error"),
            "request_id": {"type": "string"},
            "error": {
                "type": "object",
                "properties": {
                    "type": {"enum": _ERROR_TYPES},
                    "message": {"type": "string"},
                    "param": {"type": "string"},
                },
                "required": ["type", "message"],
                "additionalProperties": False,
            },
        }
    ),
    "Metadata": _METADATA,
    "MetadataPatch": _METADATA_PATCH,
    "EnvironmentConfig": _CONFIG,
    "Environment": _object(
        {
            "id": _id("env"),
            "type": _const("environment"),
            "name": {"type": "string"},
            "description": {"type": "string"},
            "config": _CONFIG,
            "metadata": ref("Metadata"),
            "archived_at": _TS_OR_NULL,
            "created_at": _TS,
            "updated_at": _TS,
        }
    ),
    "Session": _object(
        {
            "id": _id("sess"),
            "type": _const("session"),
            "environment_id": _id("env"),
            "agent": {"description": "Stored exactly as given on create."},
            "title": _STR_OR_NULL,
            "status": {"enum": _SESSION_STATUSES},
            "metadata": ref("Metadata"),
            "work_id": {"anyOf": [_id("work"), {"type": "null"}]},
            "archived_at": _TS_OR_NULL,
            "created_at": _TS,
            "updated_at": _TS,
        }
    ),
    "WorkItem": _object(
        {
            "id": _id("work"),
            "type": _const("work"),
            "environment_id": _id("env"),
            "data": _object({"type": _const("session"), "id": _id("sess")}),
            "state": {"enum": _WORK_STATES},
            "created_at": _TS,
            "acknowledged_at": _TS_OR_NULL,
            "started_at": _TS_OR_NULL,
            "latest_heartbeat_at": _TS_OR_NULL,
            "stop_requested_at": _TS_OR_NULL,
            "stopped_at": _TS_OR_NULL,
            "metadata": ref("Metadata"),
            "secret": _STR_OR_NULL,
        }
    ),
    "Heartbeat": _object(
        {
            "type": _const("work_heartbeat"),
            "last_heartbeat": _TS,
            "lease_extended": {"type": "boolean"},
            "state": {"enum": _WORK_STATES},
            "ttl_seconds": {"type": "integer", "minimum": 10, "maximum": 600},
        }
    ),
    "QueueStats": _object(
        {
            "type": _const("work_queue_stats"),
            "depth": {"type": "integer", "minimum": 0},
            "pending": {"type": "integer", "minimum": 0},
            "oldest_queued_at": _TS_OR_NULL,
            "workers_polling": {"type": "integer", "minimum": 0},
        }
    ),
    "Event": {
        "type": "object",
        "description": "Common fields; the rest depends on the type (content, name, error, …).",
        "properties": {
            "id": _id("evt"),
            "type": {"type": "string"},
            "session_id": _id("sess"),
            "processed_at": _TS,
        },
        "required": ["id", "type", "session_id", "processed_at"],
    },
    "EventInput": {
        "type": "object",
        "description": f"At most {lim.MAX_EVENT_BYTES // 2**20} MiB as compact UTF-8 JSON.",
        "properties": {
            "type": {
                "enum": [
                    "user.message",
                    "user.interrupt",
                    "agent.message",
                    "agent.tool_use",
                    "agent.tool_result",
                    "session.error",
                    "system.message",
                ]
            },
            "content": {"anyOf": [_CONTENT, {"type": "string"}]},
        },
        "required": ["type"],
    },
    "EventList": _object({"data": {"type": "array", "items": ref("Event")}}),
    "Deleted": _object({"id": {"type": "string"}, "type": {"type": "string"}}),
    "Cancellation": _object(
        {"id": _id("sess"), "type": _const("session"), "status": _const("canceling")}
    ),
    "EnvironmentPage": _page("Environment"),
    "SessionPage": _page("Session"),
    "WorkPage": _page("WorkItem"),
    "EventPage": _page("Event"),
}
