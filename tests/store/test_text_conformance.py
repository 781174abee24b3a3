"""Text the backends must agree on: every Unicode string is stored exactly as sent, or rejected as
bad input before it reaches a store (spec/conventions.md: "any Unicode"; design: never a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import API
from tests.store.records import env, insert, token, work
from workyard.api import create_app
from workyard.service.container import Services
from workyard.store.base import Store


async def test_json_columns_round_trip_nul(any_store: Store) -> None:
    # JSON columns escape control characters, so both backends keep them
    e = env(1, metadata={"k\x00": "v\x00"}, config={"type": "self_hosted", "x": "\x00"})
    w = work(1, e.id, metadata={"nul": "\x00"})
    await insert(any_store, e, w, token(1, environment_ids=(e.id,)))
    assert await any_store.get_environment(e.id) == e
    assert await any_store.get_work(w.id) == w


@pytest.fixture
async def lenient_client(services: Services, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``client``, but an unhandled exception comes back as the 500 a caller would see."""
    app = create_app(services, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(transport=transport, base_url=API, headers=headers) as c:
        yield c


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "bad \\ud800", "config": {"type": "self_hosted"}}',
        b'{"name": "x", "config": {"type": "self_hosted"}, "metadata": {"k": "\\udfff"}}',
    ],
    ids=["name", "metadata"],
)
async def test_lone_surrogates_are_bad_input(
    lenient_client: httpx.AsyncClient, backend: str, raw: bytes
) -> None:
    response = await lenient_client.post(
        "/environments", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/environments", {"name": "a\x00b", "config": {"type": "self_hosted"}}, "name"),
        ("/environments", {"name": "a", "description": "\x00"}, "description"),
    ],
)
async def test_nul_in_plain_text_fields_is_bad_input(
    lenient_client: httpx.AsyncClient, backend: str, path: str, body: dict[str, object], param: str
) -> None:
    # Plain text columns never see U+0000 (PostgreSQL cannot store it): the API refuses it.
    response = await lenient_client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
