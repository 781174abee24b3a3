"""The dashboard's actions in a real Chromium against a real server: each one clicked through its
confirmation and checked through the REST API; forged forms, other sites and ended sessions.

Waits are Playwright's auto-waiting assertions, never sleeps.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.ui.conftest import Api
from tests.ui.test_dashboard_browser import login

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

with contextlib.suppress(ImportError):  # without Playwright the ``page`` fixture skips (CI: fails)
    from playwright.async_api import expect

pytestmark = pytest.mark.e2e

EVIL = "http://evil.test"


def get(api: Api, path: str, token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return api.http.get(path, headers=headers)


def work_of(api: Api, env_id: str, work_id: str) -> dict[str, Any]:
    item: dict[str, Any] = get(api, f"/environments/{env_id}/work/{work_id}").json()
    return item


async def confirm(page: Page, button: str) -> None:
    """On a confirmation page: check it asks, then press its button."""
    await expect(page.locator("section#confirm h1")).to_be_visible()
    await page.locator("form#confirm-form button[type='submit']").filter(has_text=button).click()


async def flash(page: Page, text: str | re.Pattern[str]) -> None:
    await expect(page.locator("#flash")).to_contain_text(text)


async def test_stop_then_force_stop_a_work_item(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("lab")
    session = api.session(env, "long job")
    item = api.take(env)
    await login(page, server)
    await page.goto(f"{server.url}/ui/environments/{env}")
    row = page.locator(f"table#work tr[data-id='{item['id']}']")
    await row.locator("a[data-action='stop']").click()
    await expect(page.locator("section#confirm .question")).to_contain_text(item["id"])
    assert work_of(api, env, item["id"])["state"] == "starting"  # asking changed nothing
    await confirm(page, "Stop")
    await expect(page).to_have_url(f"{server.url}/ui/environments/{env}")
    await flash(page, "is stopping")
    assert work_of(api, env, item["id"])["state"] == "stopping"

    await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    await page.locator("a[data-action='force-stop']").click()
    await confirm(page, "Force stop")
    await expect(page).to_have_url(f"{server.url}/ui/sessions/{session['id']}")
    await flash(page, f"Work item {item['id']} stopped.")
    assert work_of(api, env, item["id"])["state"] == "stopped"
    await expect(page.locator("a[data-action='force-stop']")).to_have_count(0)


async def test_a_stale_confirmation_shows_the_reason_and_changes_nothing(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("lab")
    session = api.session(env)
    item = api.take(env)
    await login(page, server)
    await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    await page.locator("a[data-action='force-stop']").click()
    await expect(page.locator("section#confirm")).to_be_visible()
    stopped = api.post(f"/environments/{env}/work/{item['id']}/stop", {"force": True})
    await confirm(page, "Force stop")
    await expect(page.locator("#action-error")).to_contain_text("has already stopped")
    await expect(page.locator("#action-error")).to_contain_text("nothing was changed")
    assert work_of(api, env, item["id"]) == stopped


async def test_cancel_archive_and_delete_a_session(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("lab")
    session = api.session(env, "to be ended")
    api.take(env)
    sid = session["id"]
    await login(page, server)
    await page.goto(f"{server.url}/ui/sessions/{sid}")
    await page.locator("#session-actions a[data-action='cancel']").click()
    await confirm(page, "Cancel")
    await flash(page, "interrupt")
    events = get(api, f"/sessions/{sid}/events").json()["data"]
    assert [e["type"] for e in events] == ["user.interrupt"]

    await page.locator("#session-actions a[data-action='archive']").click()
    await expect(page.locator("section#confirm .question")).to_contain_text("to be ended")
    await confirm(page, "Archive")
    await flash(page, "Session archived")
    assert get(api, f"/sessions/{sid}").json()["archived_at"] is not None
    await expect(page.locator("form#send-message")).to_have_count(0)

    await page.locator("#session-actions a[data-action='delete']").click()
    await confirm(page, "Delete")
    await expect(page).to_have_url(f"{server.url}/ui/environments/{env}")
    await flash(page, f"Session {sid} deleted.")
    assert get(api, f"/sessions/{sid}").status_code == 404


async def test_send_a_message_to_a_session(server: ServerProcess, api: Api, page: Page) -> None:
    env = api.environment("lab")
    session = api.session(env, "chat")
    await login(page, server)
    await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    await page.fill("form#send-message textarea[name='text']", "please <b>hurry</b>")
    await page.locator("form#send-message button[type='submit']").click()
    await flash(page, "Message sent.")
    await expect(page.locator("ol#events li[data-type='user.message'] .text")).to_have_text(
        "please <b>hurry</b>"
    )
    events = get(api, f"/sessions/{session['id']}/events").json()["data"]
    assert [e["content"] for e in events] == [[{"type": "text", "text": "please <b>hurry</b>"}]]


async def test_create_then_archive_an_environment(
    server: ServerProcess, api: Api, page: Page
) -> None:
    await login(page, server)
    form = page.locator("form#new-environment")
    await form.locator("input[name='name']").fill("made in the browser")
    await form.locator("select[name='type']").select_option("self_hosted")
    await form.locator("button[type='submit']").click()
    await expect(page).to_have_url(re.compile(rf"{server.url}/ui/environments/env_[0-9a-f]{{32}}$"))
    await flash(page, "created")
    env_id = page.url.rsplit("/", 1)[1]
    env = get(api, f"/environments/{env_id}").json()
    assert (env["name"], env["config"]["type"]) == ("made in the browser", "self_hosted")

    await page.locator("#environment-actions a[data-action='archive']").click()
    await confirm(page, "Archive")
    await expect(page).to_have_url(f"{server.url}/ui")
    await flash(page, "archived")
    assert get(api, f"/environments/{env_id}").json()["archived_at"] is not None


async def _create_token(page: Page, server: ServerProcess, name: str, kind: str) -> str:
    await page.goto(f"{server.url}/ui")
    await page.locator("nav a#nav-tokens").click()
    form = page.locator("form#new-token")
    await form.locator("input[name='name']").fill(name)
    await form.locator("select[name='kind']").select_option(kind)
    await form.locator("button[type='submit']").click()
    secret = page.locator("code#token-secret")
    await expect(secret).to_have_text(re.compile(r"^pt-[A-Za-z0-9_-]{32,}$"))
    return await secret.inner_text()


async def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(
    server: ServerProcess, api: Api, page: Page
) -> None:
    await login(page, server)
    secret = await _create_token(page, server, "ci bot", "member")
    assert get(api, "/environments", secret).status_code == 200
    await page.locator("a#back").click()
    row = page.locator("table#tokens tr", has_text="ci bot")
    await expect(row.locator("td.kind")).to_have_text("member")
    await expect(page.locator("body")).not_to_contain_text(secret)  # shown only once
    await row.locator("a[data-action='revoke']").click()
    await confirm(page, "Revoke")
    await flash(page, "revoked")
    assert get(api, "/environments", secret).status_code == 401
    await expect(row.locator("a[data-action='revoke']")).to_have_count(0)


async def test_worker_tokens_cannot_log_in(server: ServerProcess, page: Page) -> None:
    await login(page, server)
    secret = await _create_token(page, server, "runner", "worker")
    await page.goto(f"{server.url}/ui")
    await page.locator("form#logout button").click()
    await page.fill("form#login input[name='token']", secret)
    await page.click("form#login button[type='submit']")
    await expect(page.locator(".error")).to_contain_text("Worker tokens cannot use the dashboard")
    assert not any(c["name"] == "workyard_session" for c in await page.context.cookies())


async def test_revoking_a_token_ends_its_dashboard_session_before_its_next_action(
    server: ServerProcess, api: Api, page: Page, browser: Browser
) -> None:
    env = api.environment("lab")
    session = api.session(env)
    await login(page, server)
    member = await _create_token(page, server, "colleague", "member")
    other = await browser.new_context()
    try:
        theirs = await other.new_page()
        await theirs.goto(f"{server.url}/ui/login")
        await theirs.fill("form#login input[name='token']", member)
        await theirs.click("form#login button[type='submit']")
        await expect(theirs).to_have_url(f"{server.url}/ui")
        await theirs.goto(f"{server.url}/ui/sessions/{session['id']}")
        await theirs.fill("form#send-message textarea[name='text']", "hello")

        await page.goto(f"{server.url}/ui/tokens")
        await page.locator("table#tokens tr", has_text="colleague").locator("a").click()
        await confirm(page, "Revoke")
        await flash(page, "revoked")

        await theirs.locator("form#send-message button[type='submit']").click()
        await expect(theirs.locator(".error")).to_contain_text("expired or was ended")
        await expect(theirs.locator("form#login")).to_be_visible()
    finally:
        await other.close()
    assert get(api, f"/sessions/{session['id']}/events").json()["data"] == []


async def test_a_forged_csrf_token_is_refused(server: ServerProcess, api: Api, page: Page) -> None:
    await login(page, server)
    form = page.locator("form#new-environment")
    await form.locator("input[name='csrf']").evaluate("input => { input.value = 'forged'; }")
    await form.locator("input[name='name']").fill("forged")
    await form.locator("button[type='submit']").click()
    await expect(page.locator("#action-error")).to_contain_text("security token")
    await expect(page.locator("#action-error")).to_contain_text("nothing was changed")
    assert get(api, "/environments").json()["data"] == []


def _evil_page(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return f'<form method="post" action="{action}">{inputs}<button id="go">Win</button></form>'


async def _visit_evil(page: Page, action: str, fields: dict[str, str]) -> None:
    body = _evil_page(action, fields)

    async def fulfil(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=body)

    await page.route(f"{EVIL}/**", fulfil)
    await page.goto(f"{EVIL}/prize")
    await page.click("#go")


async def test_a_form_posted_from_another_site_is_refused(
    server: ServerProcess, api: Api, page: Page
) -> None:
    await login(page, server)
    await _visit_evil(page, f"{server.url}/ui/environments", {"name": "evil", "type": "cloud"})
    await expect(page).to_have_url(f"{server.url}/ui/environments")
    await expect(page.locator("#action-error")).to_contain_text("another site")
    assert get(api, "/environments").json()["data"] == []


async def test_a_login_posted_from_another_site_is_refused(
    server: ServerProcess, page: Page
) -> None:
    await page.goto(f"{server.url}/ui/login")  # the victim has the login form's cookie
    await _visit_evil(page, f"{server.url}/ui/login", {"token": server.token})
    await expect(page.locator(".error")).to_contain_text("another site")
    assert not any(c["name"] == "workyard_session" for c in await page.context.cookies())
    await page.goto(f"{server.url}/ui")
    await expect(page).to_have_url(f"{server.url}/ui/login")
