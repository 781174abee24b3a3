"""``/environments`` (spec/environments.md)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from workyard.api import wire
from workyard.api.inputs import body_str, path_id, query_bool, query_ts, read_body
from workyard.api.router import Routes
from workyard.api.routes.common import authenticate, json_response, pagination, services
from workyard.domain.environments import validate_config
from workyard.domain.limits import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from workyard.domain.metadata import validate_metadata, validate_patch
from workyard.errors import InvalidRequestError
from workyard.service.environments import EnvironmentChanges
from workyard.store import EnvironmentFilter

__all__ = ["router"]

router = Routes()
_MAX_DESCRIPTION = MAX_DESCRIPTION_LENGTH


def _config(body: dict[str, Any]) -> dict[str, Any] | None:
    if "config" not in body:
        return None
    if body["config"] is None:
        raise InvalidRequestError("config must be an object with a type", param="config")
    return validate_config(body["config"])


@router.post("/environments")
async def create_environment(request: Request) -> Response:
    principal = await authenticate(request)
    body = await read_body(request, required=True)
    name = body_str(body, "name", required=True, min_len=1, max_len=MAX_NAME_LENGTH)
    description = body_str(body, "description", nullable=True, max_len=_MAX_DESCRIPTION) or ""
    config = _config(body) or {"type": "cloud"}
    metadata = validate_metadata(body["metadata"]) if body.get("metadata") is not None else {}
    env = await services(request).environments.create(
        principal, name, description, config, metadata
    )
    return json_response(wire.environment(env), 201)


@router.get("/environments")
async def list_environments(request: Request) -> Response:
    principal = await authenticate(request)
    page = pagination(request, "env")
    flt = EnvironmentFilter(
        include_archived=query_bool(request, "include_archived"),
        created_gte=query_ts(request, "created_at[gte]"),
        created_lte=query_ts(request, "created_at[lte]"),
    )
    result = await services(request).environments.list(principal, flt, page)
    return json_response(wire.page(result, wire.environment, lambda e: e.id))


@router.get("/environments/{environment_id}")
async def get_environment(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    env_id = path_id("env", environment_id, "Environment")
    env = await services(request).environments.get(principal, env_id)
    return json_response(wire.environment(env))


@router.post("/environments/{environment_id}")
async def update_environment(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    body = await read_body(request)
    changes = EnvironmentChanges(
        name=body_str(body, "name", min_len=1, max_len=MAX_NAME_LENGTH),
        description=body_str(body, "description", max_len=_MAX_DESCRIPTION),
        config=_config(body),
        metadata=body.get("metadata"),
    )
    if changes.metadata is not None and not isinstance(changes.metadata, dict):
        raise InvalidRequestError("metadata must be an object", param="metadata")
    if changes.metadata is not None:
        validate_patch(changes.metadata)  # 400 before 404
    env_id = path_id("env", environment_id, "Environment")
    env = await services(request).environments.update(principal, env_id, changes)
    return json_response(wire.environment(env))


@router.post("/environments/{environment_id}/archive")
async def archive_environment(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    await read_body(request)
    env_id = path_id("env", environment_id, "Environment")
    env = await services(request).environments.archive(principal, env_id)
    return json_response(wire.environment(env))


@router.delete("/environments/{environment_id}")
async def delete_environment(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    await read_body(request)
    env_id = path_id("env", environment_id, "Environment")
    await services(request).environments.delete(principal, env_id)
    return json_response({"id": env_id, "type": "environment_deleted"})
