"""spec/conventions.md: the error envelope on every path, request ids, body limits, 500/503."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import API, assert_error, create_environment
from workyard.api import create_app
from workyard.clock import ManualClock, format_ts
from workyard.config import Settings
from workyard.domain.models import TokenKind
from workyard.ids import is_id
from workyard.service.container import Services, build_services

SMALL_LIMIT = 1024
ENV_BODY = b'{"name": "sized", "config": {"type": "self_hosted"}}'
SECRET = "secret at /var/lib/workyard/db.sqlite: SELECT token_hash FROM tokens"


def _padded(size: int) -> bytes:
    """A valid JSON body of exactly ``size`` bytes (trailing whitespace is still valid JSON)."""
    assert len(ENV_BODY) <= size
    return ENV_BODY + b" " * (size - len(ENV_BODY))


@pytest.fixture
async def small_client(tmp_path: Path, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client for an app whose body limit is 1 KiB."""
    settings = Settings(
        data_dir=tmp_path / "small", max_body_bytes=SMALL_LIMIT, token_cache_seconds=0.0
    )
    svc = build_services(settings, clock=clock)
    await svc.start()
    try:
        _, token = await svc.tokens.create("small", TokenKind.ADMIN)
        app = create_app(svc, manage_lifecycle=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=API,
            headers={"authorization": f"Bearer {token}"},
        ) as client:
            yield client
    finally:
        await svc.stop()


@pytest.fixture
async def boom_client(services: Services, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app with one extra route that raises an unexpected exception."""
    app = create_app(services, manage_lifecycle=False)

    @app.get("/api/v1/cloud/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=API,
        headers={"authorization": f"Bearer {admin_token}"},
    ) as client:
        yield client


async def _environment_count(client: httpx.AsyncClient) -> int:
    response = await client.get("/environments", params={"include_archived": "true"})
    assert response.status_code == 200, response.text
    return len(response.json()["data"])


# --- the envelope on every error path -----------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/nope", "/environments/env_0190a1b2c3d4e5f60718293a4b5c6d7e/nope", "/api/v1/nope"]
)
async def test_unknown_route_is_404_envelope(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert_error(response, 404, "not_found_error")


async def test_unknown_route_outside_the_api_prefix_is_404_envelope(
    client: httpx.AsyncClient,
) -> None:
    assert_error(await client.get("http://testserver/nope"), 404, "not_found_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/environments"),
        ("DELETE", "/environments"),
        ("PATCH", "/environments/env_0190a1b2c3d4e5f60718293a4b5c6d7e"),
        ("GET", "/environments/env_0190a1b2c3d4e5f60718293a4b5c6d7e/archive"),
        ("DELETE", "/sessions"),
    ],
)
async def test_wrong_method_is_405_envelope(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "invalid_request_error")


@pytest.mark.parametrize(
    "body", [b"{", b"{'name': 'x'}", b'{"name": "x",}', b"nope", b'{"a": NaN}', b"[1, 2"]
)
async def test_invalid_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/environments", content=body, headers={"content-type": "application/json"}
    )
    envelope = assert_error(response, 400, "invalid_request_error")
    assert envelope["error"]["message"] == "Request body must be valid JSON."
    assert await _environment_count(client) == 0


async def test_non_utf8_body_is_400(client: httpx.AsyncClient) -> None:
    body = '{"name": "caf\u00e9"}'.encode("latin-1")
    response = await client.post("/environments", content=body)
    envelope = assert_error(response, 400, "invalid_request_error")
    assert envelope["error"]["message"] == "Request body must be valid JSON."
    assert await _environment_count(client) == 0


@pytest.mark.parametrize("body", [b"[]", b'[{"name": "x"}]', b'"x"', b"5", b"true", b"null"])
async def test_non_object_bodies_are_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/environments", content=body)
    assert_error(response, 400, "invalid_request_error")
    assert await _environment_count(client) == 0


async def test_body_without_content_type_is_parsed_as_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/environments", content=ENV_BODY)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "sized"


async def test_unknown_fields_and_headers_are_ignored(client: httpx.AsyncClient) -> None:
    headers = {
        "x-qoder-beta": "anything-2026",
        "qoder-workspace-id": "ws_1",
        "X-Qoder-Retry-Count": "0",
        "Idempotency-Key": "abc",
    }
    body = {"name": "n", "config": {"type": "self_hosted"}, "scope": "account", "future": [1]}
    response = await client.post("/environments", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert "future" not in response.json()


# --- body size limit ---------------------------------------------------------------------------


async def test_body_at_the_limit_is_accepted(small_client: httpx.AsyncClient) -> None:
    response = await small_client.post("/environments", content=_padded(SMALL_LIMIT))
    assert response.status_code == 201, response.text


async def test_body_over_the_limit_is_400(small_client: httpx.AsyncClient) -> None:
    response = await small_client.post("/environments", content=_padded(SMALL_LIMIT + 1))
    envelope = assert_error(response, 400, "invalid_request_error")
    assert envelope["error"]["message"] == "Request body too large."
    assert await _environment_count(small_client) == 0


async def test_chunked_body_over_the_limit_is_400(small_client: httpx.AsyncClient) -> None:
    chunks = [ENV_BODY, b" " * 600, b" " * 600]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = await small_client.post("/environments", content=stream())
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    envelope = assert_error(response, 400, "invalid_request_error")
    assert envelope["error"]["message"] == "Request body too large."
    assert await _environment_count(small_client) == 0


async def test_chunked_body_under_the_limit_is_accepted(small_client: httpx.AsyncClient) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield ENV_BODY[:10]
        yield ENV_BODY[10:]

    response = await small_client.post("/environments", content=stream())
    assert response.status_code == 201, response.text


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ["req-1", "a" * 128, "A.b_c:d-9", "0"])
async def test_sane_request_id_is_echoed_on_success_and_error(
    client: httpx.AsyncClient, rid: str
) -> None:
    ok = await client.get("/environments", headers={"x-request-id": rid})
    assert ok.status_code == 200
    assert ok.headers["x-request-id"] == rid
    error = await client.get("/nope", headers={"x-request-id": rid})
    assert assert_error(error, 404, "not_found_error")["request_id"] == rid


@pytest.mark.parametrize(
    "rid", ["a" * 129, "x" * 200, "has space", "slash/no", "semi;colon", 'quote"', ""]
)
async def test_insane_request_id_is_replaced_by_a_uuid(client: httpx.AsyncClient, rid: str) -> None:
    response = await client.post("/environments", content=b"{", headers={"x-request-id": rid})
    envelope = assert_error(response, 400, "invalid_request_error")
    generated = envelope["request_id"]
    assert generated != rid
    assert str(uuid.UUID(generated)) == generated


async def test_generated_request_ids_differ(client: httpx.AsyncClient) -> None:
    first = await client.get("/environments")
    second = await client.get("/environments")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    for response in (first, second):
        uuid.UUID(response.headers["x-request-id"])


async def test_ops_routes_carry_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("http://testserver/healthz", headers={"x-request-id": "hz-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "hz-1"


# --- 500 and 503 -------------------------------------------------------------------------------


async def test_unhandled_exception_is_500_without_internals(
    boom_client: httpx.AsyncClient,
) -> None:
    response = await boom_client.get("/boom", headers={"x-request-id": "boom-1"})
    envelope = assert_error(response, 500, "api_error")
    assert envelope["request_id"] == "boom-1"
    text = response.text
    for leak in ("RuntimeError", "SELECT", "/var/lib", "Traceback", "secret", "token_hash"):
        assert leak not in text
    assert set(envelope) == {"type", "request_id", "error"}
    assert set(envelope["error"]) == {"type", "message"}


async def test_readyz_is_503_when_the_store_is_closed(
    client: httpx.AsyncClient, services: Services
) -> None:
    ready = await client.get("http://testserver/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    await services.store.close()
    assert_error(await client.get("http://testserver/readyz"), 503, "overloaded_error")
    assert (await client.get("http://testserver/healthz")).status_code == 200


async def test_api_request_on_a_closed_store_is_503(
    client: httpx.AsyncClient, services: Services
) -> None:
    await create_environment(client)
    await services.store.close()
    response = await client.get("/environments")
    envelope = assert_error(response, 503, "overloaded_error")
    assert "sqlite" not in json.dumps(envelope).lower()
    assert re.fullmatch(r"\d+", response.headers.get("retry-after", "")), response.headers


async def test_a_draining_server_answers_new_requests_with_503(
    client: httpx.AsyncClient, services: Services
) -> None:
    env = await create_environment(client)
    services.queue.drain()  # what SIGTERM does
    response = await client.get(f"/environments/{env['id']}")
    assert_error(response, 503, "overloaded_error")
    assert response.headers["retry-after"] == "1"
    assert_error(await client.post("/sessions", json={}), 503, "overloaded_error")
    assert_error(await client.get("http://testserver/readyz"), 503, "overloaded_error")
    assert (await client.get("http://testserver/healthz")).status_code == 200
    assert (await client.get("http://testserver/metrics")).status_code == 200


# --- timestamps and ids on the wire ------------------------------------------------------------

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


def _timestamps(value: Any) -> Iterator[tuple[str, Any]]:
    """Every ``*_at`` field anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_at"):
                yield key, item
            yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)


async def test_every_timestamp_has_six_digits_and_z(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    clock.advance(0.000007)  # a fraction that must keep its leading zeros
    env = await create_environment(client)
    session = (await client.post("/sessions", json={"environment_id": env["id"]})).json()
    documents = [
        env,
        session,
        (await client.get("/environments")).json(),
        (await client.get(f"/sessions/{session['id']}")).json(),
        (await client.get("/sessions")).json(),
        (await client.get(f"/environments/{env['id']}/work")).json(),
        (await client.post(f"/environments/{env['id']}/archive")).json(),
    ]
    found = [pair for document in documents for pair in _timestamps(document)]
    assert {"created_at", "updated_at", "archived_at"} <= {key for key, _ in found}
    for key, value in found:
        assert value is None or TS_RE.match(value), (key, value)
    assert env["created_at"] == format_ts(clock.now())
    assert env["created_at"].endswith(".000007Z")
    assert env["archived_at"] is None  # nullable timestamps are present as null


async def test_ids_on_the_wire_have_their_prefix_and_increase(client: httpx.AsyncClient) -> None:
    envs = [(await create_environment(client, name=f"e{i}"))["id"] for i in range(5)]
    assert all(is_id("env", env_id) for env_id in envs)
    assert envs == sorted(envs)
    session = (await client.post("/sessions", json={"environment_id": envs[0]})).json()
    assert is_id("sess", session["id"])
    assert session["work_id"] is None or is_id("work", session["work_id"])
