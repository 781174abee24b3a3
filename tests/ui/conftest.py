"""Fixtures for the dashboard's browser tests: Chromium via Playwright, a server, its API.

Without ``/usr/bin/chromium`` or the ``playwright`` package the browser tests are skipped, except
in CI (``CI=true``), where they fail: CI must never pass without having run them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} does not exist (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as exc:
        return f"playwright cannot be imported ({exc}); pip install -e '.[dev]'"
    return None


def require_browser() -> None:
    """Skip the test when the browser is missing; fail it instead when ``CI`` is ``true``."""
    reason = _browser_missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium for one test, driven from the test's own event loop."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a fresh browser context (no cookies); uncaught script errors fail the test."""
    context = await browser.new_context()
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the dashboard's scripts: {errors}"


class Api:
    """The REST API of a test server, as its admin."""

    def __init__(self, server: ServerProcess) -> None:
        self.http = httpx.Client(
            base_url=server.api, headers={"authorization": f"Bearer {server.token}"}, timeout=10
        )

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, body: dict[str, Any] | None = None, worker: str = "") -> Any:
        headers = {"worker-id": worker} if worker else {}
        response = self.http.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    def environment(self, name: str, kind: str = "self_hosted") -> str:
        """Create an environment of type ``kind``; return its id."""
        env: dict[str, Any] = self.post("/environments", {"name": name, "config": {"type": kind}})
        env_id: str = env["id"]
        return env_id

    def archive_environment(self, env_id: str) -> None:
        self.post(f"/environments/{env_id}/archive")

    def session(self, env_id: str, title: str | None = None) -> dict[str, Any]:
        """Create a session (and its queued work item) in ``env_id``."""
        body: dict[str, Any] = {"environment_id": env_id}
        if title is not None:
            body["title"] = title
        created: dict[str, Any] = self.post("/sessions", body)
        assert created["status"] == "rescheduling", created
        return created

    def events(self, session_id: str, *events: dict[str, Any]) -> list[dict[str, Any]]:
        """Append ``events`` to a session; return the created events."""
        answer = self.post(f"/sessions/{session_id}/events", {"events": list(events)})
        created: list[dict[str, Any]] = answer["data"]
        return created

    def take(self, env_id: str, worker: str = "w1") -> dict[str, Any]:
        """Poll one work item as ``worker`` and acknowledge it (state ``starting``)."""
        response = self.http.get(f"/environments/{env_id}/work/poll", headers={"worker-id": worker})
        assert response.status_code == 200, response.text
        item: dict[str, Any] | None = response.json()
        assert item is not None, "nothing to poll"
        acked: dict[str, Any] = self.post(
            f"/environments/{env_id}/work/{item['id']}/ack", worker=worker
        )
        assert acked["state"] == "starting", acked
        return acked


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server)
    try:
        yield client
    finally:
        client.close()
