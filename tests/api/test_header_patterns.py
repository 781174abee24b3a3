"""The OpenAPI document's header patterns say exactly what the server accepts: ``Worker-ID`` and
``Idempotency-Key`` are "printable characters" (spec/work.md, docs/api.md), tried here on the
characters at and around the boundaries, and at the length limits."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.test_work_table import work_path
from tests.conftest import create_environment
from workyard.api import create_app
from workyard.domain.limits import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_WORKER_ID_LENGTH
from workyard.service.container import Services

# below, at and above each end of printable ASCII, controls, DEL, Latin-1 and beyond
BOUNDARY = [0x01, 0x09, 0x1F, 0x20, 0x21, 0x22, 0x5C, 0x7D, 0x7E, 0x7F, 0x80, 0xA0, 0xE9, 0xFF]


def _header_schema(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    for param in document["paths"][path][method]["parameters"]:
        if param["in"] == "header" and param["name"] == name:
            schema: dict[str, Any] = param["schema"]
            return schema
    raise AssertionError(f"{method} {path} declares no {name} header")


def _documented(schema: dict[str, Any], value: str) -> bool:
    """Whether ``value`` satisfies the JSON Schema string keywords of ``schema``."""
    return (
        schema["minLength"] <= len(value) <= schema["maxLength"]
        and re.search(schema["pattern"], value) is not None
    )


def _values(limit: int) -> list[str]:
    inner = [f"w{chr(c)}w" for c in BOUNDARY]  # inside: no header parser trims them
    return [*inner, "w" * limit, "w" * (limit + 1), "~", "a b"]


async def test_the_worker_id_pattern_is_the_servers_check(
    services: Services, client: httpx.AsyncClient
) -> None:
    document = create_app(services, manage_lifecycle=False).openapi()
    poll = "/api/v1/cloud/environments/{environment_id}/work/poll"
    schema = _header_schema(document, poll, "get", "Worker-ID")
    assert schema["maxLength"] == MAX_WORKER_ID_LENGTH
    env_id = (await create_environment(client))["id"]
    accepted: list[str] = []
    for value in _values(MAX_WORKER_ID_LENGTH):
        raw = value.encode("latin-1")
        response = await client.get(work_path(env_id, "", "/poll"), headers={b"Worker-ID": raw})
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            assert response.json()["error"]["param"] == "Worker-ID"
        served = response.status_code == 200
        assert served is _documented(schema, value), (repr(value), served)
        if served:
            accepted.append(value)
    assert "w w" in accepted and "w~w" in accepted and "w\x7fw" not in accepted


async def test_the_idempotency_key_pattern_is_the_servers_check(
    services: Services, client: httpx.AsyncClient
) -> None:
    document = create_app(services, manage_lifecycle=False).openapi()
    schema = _header_schema(document, "/api/v1/cloud/environments", "post", "Idempotency-Key")
    assert schema["maxLength"] == MAX_IDEMPOTENCY_KEY_LENGTH
    for value in _values(MAX_IDEMPOTENCY_KEY_LENGTH):
        response = await client.post(
            "/environments",
            json={"name": "e", "config": {"type": "self_hosted"}},
            headers={b"Idempotency-Key": value.encode("latin-1")},
        )
        assert response.status_code in (201, 400), response.text
        if response.status_code == 400:
            assert response.json()["error"]["param"] == "Idempotency-Key"
        assert (response.status_code == 201) is _documented(schema, value), repr(value)
