"""The dashboard (``/ui``) in a real Chromium against a real server: login, pages, live refresh.

The data is made over the REST API; the dashboard must show it, and show changes without a reload.
Waits are Playwright's auto-waiting assertions, never sleeps.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import ServerProcess
from tests.ui.conftest import Api

if TYPE_CHECKING:
    from playwright.async_api import Dialog, Locator, Page, Response

with contextlib.suppress(ImportError):  # without Playwright the ``page`` fixture skips (CI: fails)
    from playwright.async_api import expect

pytestmark = pytest.mark.e2e

LIVE = 6_000  # ms: the page refreshes every 2 s
ACTIVE = re.compile(r"(^|\s)active(\s|$)")
UNKNOWN_SESSION = "sess_00000000000000000000000000000000"
UNKNOWN_ENVIRONMENT = "env_00000000000000000000000000000000"


async def login(page: Page, server: ServerProcess) -> None:
    """Log in with the admin token; the browser lands on the overview."""
    await page.goto(f"{server.url}/ui/login")
    await page.fill("form#login input[name='token']", server.token)
    await page.click("form#login button[type='submit']")
    await expect(page).to_have_url(f"{server.url}/ui")


def posted(path: str) -> Callable[[Response], bool]:
    """Match the response to a POST of ``path``."""
    return lambda response: response.request.method == "POST" and response.url.endswith(path)


async def mark_document(page: Page) -> None:
    """Tag the current document; ``still_same_document`` then proves no reload happened."""
    await page.evaluate("window.__workyardTestMark = true")


async def still_same_document(page: Page) -> bool:
    return await page.evaluate("window.__workyardTestMark === true") is True


def env_row(page: Page, env_id: str) -> Locator:
    return page.locator(f"table#environments tr[data-id='{env_id}']")


def session_row(page: Page, session_id: str) -> Locator:
    return page.locator(f"table#sessions tr[data-id='{session_id}']")


def state_filter(page: Page, state: str) -> Locator:
    return page.locator(f"a.filter[data-state='{state}']")


async def test_login_rejects_a_wrong_token_and_logout_ends_the_session(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("first")
    await page.goto(f"{server.url}/ui")
    await expect(page).to_have_url(f"{server.url}/ui/login")
    await page.goto(f"{server.url}/ui/sessions/{UNKNOWN_SESSION}")
    await expect(page).to_have_url(f"{server.url}/ui/login")
    token = page.locator("form#login input[name='token']")
    await expect(token).to_have_attribute("type", "password")

    await token.fill(server.token + "x")
    async with page.expect_response(posted("/ui/login")) as wrong:
        await page.click("form#login button[type='submit']")
    assert (await wrong.value).status == 401
    error = page.locator(".error")
    await expect(error).to_contain_text(re.compile("token", re.IGNORECASE))
    await expect(error).to_contain_text(re.compile("invalid", re.IGNORECASE))
    await expect(page.locator("table#environments")).to_have_count(0)

    await page.fill("form#login input[name='token']", server.token)
    async with page.expect_response(posted("/ui/login")) as right:
        await page.click("form#login button[type='submit']")
    assert (await right.value).status == 303
    await expect(page).to_have_url(f"{server.url}/ui")
    await expect(env_row(page, env).locator("td.name")).to_have_text("first")
    await expect(page.locator("nav a#nav-overview")).to_have_attribute("href", re.compile(r"/ui$"))
    cookies = await page.context.cookies()
    assert any(c["name"] == "workyard_session" and c["httpOnly"] for c in cookies), cookies

    await page.locator("form#logout").get_by_role("button").click()
    await expect(page).to_have_url(f"{server.url}/ui/login")
    assert not any(c["name"] == "workyard_session" for c in await page.context.cookies())
    await page.goto(f"{server.url}/ui")
    await expect(page).to_have_url(f"{server.url}/ui/login")


async def test_overview_counts_each_queue_and_links_to_the_environment(
    server: ServerProcess, api: Api, page: Page
) -> None:
    lab = api.environment("lab")
    for n in range(3):
        api.session(lab, f"task {n}")
    api.take(lab, worker="w1")
    sky = api.environment("sky", "cloud")
    gone = api.environment("gone")
    api.archive_environment(gone)

    await login(page, server)
    await expect(page.locator("table#environments tr[data-id]")).to_have_count(2)
    await expect(env_row(page, gone)).to_have_count(0)
    row = env_row(page, lab)
    await expect(row.locator("td.name")).to_have_text("lab")
    await expect(row.locator("td.type")).to_have_text("self_hosted")
    for cell, value in {"queued": "2", "pending": "0", "running": "1", "workers": "1"}.items():
        await expect(row.locator(f"td.{cell}")).to_have_text(value)
    await expect(row.locator("td.oldest")).to_have_count(1)
    cloud = env_row(page, sky)
    await expect(cloud.locator("td.name")).to_have_text("sky")
    await expect(cloud.locator("td.type")).to_have_text("cloud")
    for cell in ("queued", "pending", "running", "oldest", "workers"):
        await expect(cloud.locator(f"td.{cell}")).to_have_text("")

    link = row.locator("td.name a")
    await expect(link).to_have_attribute("href", re.compile(rf"/ui/environments/{lab}$"))
    await link.click()
    await expect(page).to_have_url(f"{server.url}/ui/environments/{lab}")
    await expect(page.locator("h1")).to_have_text("lab")
    for stat, value in {"queued": "2", "pending": "0", "running": "1", "workers": "1"}.items():
        await expect(page.locator(f"dl#stats dd#stat-{stat}")).to_have_text(value)
    await page.locator("nav a#nav-overview").click()
    await expect(page).to_have_url(f"{server.url}/ui")


async def test_environment_page_shows_new_sessions_live_and_can_pause(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("live")
    first = api.session(env, "first")
    await login(page, server)
    await page.goto(f"{server.url}/ui/environments/{env}")
    rows = page.locator("table#sessions tr[data-id]")
    await expect(rows).to_have_count(1)
    await expect(session_row(page, first["id"]).locator("td.title")).to_have_text("first")
    await mark_document(page)

    server.advance(1)  # a later created_at: the new session is the newest
    second = api.session(env)  # no title: the page shows its id
    row = session_row(page, second["id"])
    await expect(row).to_be_visible(timeout=LIVE)
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_have_attribute("data-id", second["id"])
    await expect(row.locator("td.title")).to_have_text(second["id"])
    await expect(row.locator("td.title a")).to_have_attribute(
        "href", re.compile(rf"/ui/sessions/{second['id']}$")
    )
    await expect(row.locator("td.status")).to_have_text("rescheduling")
    await expect(page.locator(f"table#work tr[data-id='{second['work_id']}']")).to_have_count(1)

    api.take(env)  # the oldest queued item: the first session's
    await expect(session_row(page, first["id"]).locator("td.status")).to_have_text(
        "running", timeout=LIVE
    )
    assert await still_same_document(page)

    toggle = page.locator("#refresh-toggle")
    await expect(toggle).to_have_text("Pause")
    await toggle.click()
    await expect(toggle).to_have_text("Resume")
    third = api.session(env, "third")
    await toggle.click()
    await expect(toggle).to_have_text("Pause")
    await expect(session_row(page, third["id"]).locator("td.title")).to_have_text(
        "third", timeout=LIVE
    )
    await expect(rows).to_have_count(3)
    assert await still_same_document(page)


async def test_session_page_shows_events_and_status_live(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("chat")
    session = api.session(env, "a conversation")
    (hello,) = api.events(session["id"], {"type": "user.message", "content": "hello from a test"})

    await login(page, server)
    await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    await expect(page.locator("h1")).to_have_text("a conversation")
    await expect(page.locator("span#status")).to_have_text("rescheduling")
    events = page.locator("ol#events li.event")
    await expect(events).to_have_count(1)
    user = page.locator("ol#events li.event[data-type='user.message']")
    await expect(user).to_have_attribute("data-id", hello["id"])
    await expect(user.locator(".text")).to_have_text("hello from a test")
    await mark_document(page)

    blocks = [{"type": "text", "text": "first part."}, {"type": "text", "text": "second part."}]
    (answer,) = api.events(session["id"], {"type": "agent.message", "content": blocks})
    agent = page.locator(f"ol#events li.event[data-id='{answer['id']}']")
    await expect(agent).to_have_attribute("data-type", "agent.message", timeout=LIVE)
    await expect(agent.locator(".text")).to_have_text(re.compile(r"^first part\.\s*second part\.$"))
    await expect(events).to_have_count(2)

    api.take(env)
    await expect(page.locator("span#status")).to_have_text("running", timeout=LIVE)
    assert await still_same_document(page)


async def test_work_filter_shows_running_or_queued_items(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("filters")
    work_ids = {api.session(env)["work_id"] for _ in range(3)}
    taken = api.take(env)
    queued = work_ids - {taken["id"]}
    assert len(queued) == 2

    await login(page, server)
    await page.goto(f"{server.url}/ui/environments/{env}")
    items = page.locator("table#work tr[data-id]")
    await expect(items).to_have_count(3)

    await state_filter(page, "running").click()
    await expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=running")
    await expect(state_filter(page, "running")).to_have_class(ACTIVE)
    await expect(state_filter(page, "all")).not_to_have_class(ACTIVE)
    await expect(items).to_have_count(1)
    row = page.locator(f"table#work tr[data-id='{taken['id']}']")
    await expect(row.locator("td.state")).to_have_text("starting")
    await expect(row.locator("td.session")).to_contain_text(taken["data"]["id"])

    # The live refresh keeps the filter: a new queued item shows in the stats, not in the table.
    work_ids.add(api.session(env)["work_id"])
    await expect(page.locator("dd#stat-queued")).to_have_text("3", timeout=LIVE)
    await expect(items).to_have_count(1)
    await expect(row).to_have_count(1)

    await state_filter(page, "queued").click()
    await expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=queued")
    await expect(state_filter(page, "queued")).to_have_class(ACTIVE)
    await expect(items).to_have_count(3)
    await expect(page.locator("table#work td.state")).to_have_text(["queued"] * 3)
    shown = {await items.nth(i).get_attribute("data-id") for i in range(3)}
    assert shown == work_ids - {taken["id"]}

    await state_filter(page, "stopped").click()
    await expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=stopped")
    await expect(items).to_have_count(0)

    await state_filter(page, "all").click()
    await expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=all")
    await expect(state_filter(page, "all")).to_have_class(ACTIVE)
    await expect(items).to_have_count(4)


async def test_names_titles_and_messages_are_shown_as_text(
    server: ServerProcess, api: Api, page: Page
) -> None:
    dialogs: list[str] = []

    async def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", record)
    name = "<img src=x onerror=alert(1)>"
    env = api.environment(name)

    await login(page, server)
    cell = env_row(page, env).locator("td.name")
    await expect(cell).to_have_text(name)
    await expect(cell.locator("img")).to_have_count(0)
    await cell.locator("a").click()
    await expect(page.locator("h1")).to_have_text(name)
    await expect(page.locator("h1 img")).to_have_count(0)

    title = "<script>alert(2)</script><b>bold</b>"
    session = api.session(env, title)
    title_cell = session_row(page, session["id"]).locator("td.title")
    await expect(title_cell).to_have_text(title, timeout=LIVE)  # also through the live refresh
    await expect(title_cell.locator("b")).to_have_count(0)

    message = "<img src=y onerror=alert(3)> & <i>hi</i>"
    api.events(session["id"], {"type": "user.message", "content": message})
    await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    await expect(page.locator("h1")).to_have_text(title)
    text = page.locator("ol#events li.event[data-type='user.message'] .text")
    await expect(text).to_have_text(message)
    await expect(text.locator("img, i")).to_have_count(0)
    assert dialogs == []


async def test_unknown_or_malformed_ids_are_404(server: ServerProcess, page: Page) -> None:
    await login(page, server)
    for path in (
        f"/ui/sessions/{UNKNOWN_SESSION}",
        f"/ui/environments/{UNKNOWN_ENVIRONMENT}",
        "/ui/environments/not-an-id",
    ):
        response = await page.goto(f"{server.url}{path}")
        assert response is not None
        assert response.status == 404, path
        await expect(page.locator(".error")).to_be_visible()


async def test_empty_lists_are_empty_tables(server: ServerProcess, api: Api, page: Page) -> None:
    await login(page, server)
    await expect(page.locator("main#content table#environments")).to_have_count(1)
    await expect(page.locator("table#environments tr[data-id]")).to_have_count(0)

    env = api.environment("quiet")
    row = env_row(page, env)
    await expect(row).to_have_count(1, timeout=LIVE)  # the live refresh fills the table
    await row.locator("td.name a").click()
    await expect(page.locator("h1")).to_have_text("quiet")
    for table in ("sessions", "work"):
        await expect(page.locator(f"main#content table#{table}")).to_have_count(1)
        await expect(page.locator(f"table#{table} tr[data-id]")).to_have_count(0)
