"""Against a server that gives no item credential: the command gets the worker's token, once warned.

The real app, in process, behind a transport that removes ``secret`` from every answer — what an
older server (or one that does not mint item credentials) sends.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.worker.harness import read_env
from workyard.api import create_app
from workyard.client import AsyncClient, RetryPolicy
from workyard.service.container import Services
from workyard.worker import CommandHandler, StatusLog, Worker

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


class WithoutSecrets(httpx.AsyncBaseTransport):
    """Passes requests to the app and answers as a server without item credentials would."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response
        body: Any = json.loads(await response.aread())
        if isinstance(body, dict) and "secret" in body:
            body["secret"] = None
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, json=body)


@pytest.fixture
async def sdk(services: Services, admin_token: str) -> AsyncIterator[AsyncClient]:
    app = create_app(services, manage_lifecycle=False)
    http = httpx.AsyncClient(transport=WithoutSecrets(httpx.ASGITransport(app=app)), timeout=10)
    async with http:
        yield AsyncClient("http://testserver", admin_token, http_client=http, retry_policy=NO_WAIT)


async def test_without_item_credentials_the_command_gets_the_worker_token_after_one_warning(
    sdk: AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    env = await sdk.environments.create("old", config={"type": "self_hosted"})
    for _ in range(2):
        await sdk.sessions.create(env.id)
    handler = CommandHandler(
        ["sh", "-c", 'env -0 > "$OUT/env-$WORKYARD_WORK_ID"'],
        environ={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path), "OTHER": "x"},
        pass_env=["OUT"],
        events=False,
    )
    stream = io.StringIO()
    worker = Worker(sdk, env.id, handler, until_empty=True, log=StatusLog("json", stream))
    await worker.run()

    dumps = _dumps(tmp_path)
    assert len(dumps) == 2
    for variables in dumps:
        assert variables["WORKYARD_TOKEN"] == admin_token
        assert "WORKYARD_SESSION_TOKEN" not in variables
        assert "OTHER" not in variables
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    warnings = [r for r in records if r["event"] == "no_item_credential"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    assert admin_token not in stream.getvalue()


def _dumps(directory: Path) -> list[dict[str, str]]:
    return [read_env(path) for path in sorted(directory.glob("env-work_*"))]
