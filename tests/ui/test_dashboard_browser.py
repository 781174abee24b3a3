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
    from playwright.sync_api import Dialog, Locator, Page, Response

with contextlib.suppress(ImportError):  # without Playwright the ``page`` fixture skips (CI: fails)
    from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

LIVE = 6_000  # ms: the page refreshes every 2 s
ACTIVE = re.compile(r"(^|\s)active(\s|$)")
UNKNOWN_SESSION = "sess_00000000000000000000000000000000"
UNKNOWN_ENVIRONMENT = "env_00000000000000000000000000000000"


def login(page: Page, server: ServerProcess) -> None:
    """Log in with the admin token; the browser lands on the overview."""
    page.goto(f"{server.url}/ui/login")
    page.fill("form#login input[name='token']", server.token)
    page.click("form#login button[type='submit']")
    expect(page).to_have_url(f"{server.url}/ui")


def posted(path: str) -> Callable[[Response], bool]:
    """Match the response to a POST of ``path``."""
    return lambda response: response.request.method == "POST" and response.url.endswith(path)


def mark_document(page: Page) -> None:
    """Tag the current document; ``still_same_document`` then proves no reload happened."""
    page.evaluate("window.__workyardTestMark = true")


def still_same_document(page: Page) -> bool:
    return page.evaluate("window.__workyardTestMark === true") is True


def env_row(page: Page, env_id: str) -> Locator:
    return page.locator(f"table#environments tr[data-id='{env_id}']")


def session_row(page: Page, session_id: str) -> Locator:
    return page.locator(f"table#sessions tr[data-id='{session_id}']")


def state_filter(page: Page, state: str) -> Locator:
    return page.locator(f"a.filter[data-state='{state}']")


def test_login_rejects_a_wrong_token_and_logout_ends_the_session(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("first")
    page.goto(f"{server.url}/ui")
    expect(page).to_have_url(f"{server.url}/ui/login")
    page.goto(f"{server.url}/ui/sessions/{UNKNOWN_SESSION}")
    expect(page).to_have_url(f"{server.url}/ui/login")
    token = page.locator("form#login input[name='token']")
    expect(token).to_have_attribute("type", "password")

    token.fill(server.token + "x")
    with page.expect_response(posted("/ui/login")) as wrong:
        page.click("form#login button[type='submit']")
    assert wrong.value.status == 401
    error = page.locator(".error")
    expect(error).to_contain_text(re.compile("token", re.IGNORECASE))
    expect(error).to_contain_text(re.compile("invalid", re.IGNORECASE))
    expect(page.locator("table#environments")).to_have_count(0)

    page.fill("form#login input[name='token']", server.token)
    with page.expect_response(posted("/ui/login")) as right:
        page.click("form#login button[type='submit']")
    assert right.value.status == 303
    expect(page).to_have_url(f"{server.url}/ui")
    expect(env_row(page, env).locator("td.name")).to_have_text("first")
    expect(page.locator("nav a#nav-overview")).to_have_attribute("href", re.compile(r"/ui$"))
    cookies = page.context.cookies()
    assert any(cookie["httpOnly"] for cookie in cookies), cookies

    page.locator("form#logout").get_by_role("button").click()
    expect(page).to_have_url(f"{server.url}/ui/login")
    assert not any(cookie["httpOnly"] for cookie in page.context.cookies())
    page.goto(f"{server.url}/ui")
    expect(page).to_have_url(f"{server.url}/ui/login")


def test_overview_counts_each_queue_and_links_to_the_environment(
    server: ServerProcess, api: Api, page: Page
) -> None:
    lab = api.environment("lab")
    for n in range(3):
        api.session(lab, f"task {n}")
    api.take(lab, worker="w1")
    sky = api.environment("sky", "cloud")
    gone = api.environment("gone")
    api.archive_environment(gone)

    login(page, server)
    expect(page.locator("table#environments tr[data-id]")).to_have_count(2)
    expect(env_row(page, gone)).to_have_count(0)
    row = env_row(page, lab)
    expect(row.locator("td.name")).to_have_text("lab")
    expect(row.locator("td.type")).to_have_text("self_hosted")
    for cell, value in {"queued": "2", "pending": "0", "running": "1", "workers": "1"}.items():
        expect(row.locator(f"td.{cell}")).to_have_text(value)
    expect(row.locator("td.oldest")).to_have_count(1)
    cloud = env_row(page, sky)
    expect(cloud.locator("td.name")).to_have_text("sky")
    expect(cloud.locator("td.type")).to_have_text("cloud")
    for cell in ("queued", "pending", "running", "oldest", "workers"):
        expect(cloud.locator(f"td.{cell}")).to_have_text("")

    link = row.locator("td.name a")
    expect(link).to_have_attribute("href", re.compile(rf"/ui/environments/{lab}$"))
    link.click()
    expect(page).to_have_url(f"{server.url}/ui/environments/{lab}")
    expect(page.locator("h1")).to_have_text("lab")
    for stat, value in {"queued": "2", "pending": "0", "running": "1", "workers": "1"}.items():
        expect(page.locator(f"dl#stats dd#stat-{stat}")).to_have_text(value)
    page.locator("nav a#nav-overview").click()
    expect(page).to_have_url(f"{server.url}/ui")


def test_environment_page_shows_new_sessions_live_and_can_pause(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("live")
    first = api.session(env, "first")
    login(page, server)
    page.goto(f"{server.url}/ui/environments/{env}")
    rows = page.locator("table#sessions tr[data-id]")
    expect(rows).to_have_count(1)
    expect(session_row(page, first["id"]).locator("td.title")).to_have_text("first")
    mark_document(page)

    server.advance(1)  # a later created_at: the new session is the newest
    second = api.session(env)  # no title: the page shows its id
    row = session_row(page, second["id"])
    expect(row).to_be_visible(timeout=LIVE)
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-id", second["id"])
    expect(row.locator("td.title")).to_have_text(second["id"])
    expect(row.locator("td.title a")).to_have_attribute(
        "href", re.compile(rf"/ui/sessions/{second['id']}$")
    )
    expect(row.locator("td.status")).to_have_text("rescheduling")
    expect(page.locator(f"table#work tr[data-id='{second['work_id']}']")).to_have_count(1)

    api.take(env)  # the oldest queued item: the first session's
    expect(session_row(page, first["id"]).locator("td.status")).to_have_text(
        "running", timeout=LIVE
    )
    assert still_same_document(page)

    toggle = page.locator("#refresh-toggle")
    expect(toggle).to_have_text("Pause")
    toggle.click()
    expect(toggle).to_have_text("Resume")
    third = api.session(env, "third")
    toggle.click()
    expect(toggle).to_have_text("Pause")
    expect(session_row(page, third["id"]).locator("td.title")).to_have_text("third", timeout=LIVE)
    expect(rows).to_have_count(3)
    assert still_same_document(page)


def test_session_page_shows_events_and_status_live(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("chat")
    session = api.session(env, "a conversation")
    (hello,) = api.events(session["id"], {"type": "user.message", "content": "hello from a test"})

    login(page, server)
    page.goto(f"{server.url}/ui/sessions/{session['id']}")
    expect(page.locator("h1")).to_have_text("a conversation")
    expect(page.locator("span#status")).to_have_text("rescheduling")
    events = page.locator("ol#events li.event")
    expect(events).to_have_count(1)
    user = page.locator("ol#events li.event[data-type='user.message']")
    expect(user).to_have_attribute("data-id", hello["id"])
    expect(user.locator(".text")).to_have_text("hello from a test")
    mark_document(page)

    blocks = [{"type": "text", "text": "first part."}, {"type": "text", "text": "second part."}]
    (answer,) = api.events(session["id"], {"type": "agent.message", "content": blocks})
    agent = page.locator(f"ol#events li.event[data-id='{answer['id']}']")
    expect(agent).to_have_attribute("data-type", "agent.message", timeout=LIVE)
    expect(agent.locator(".text")).to_have_text(re.compile(r"^first part\.\s*second part\.$"))
    expect(events).to_have_count(2)

    api.take(env)
    expect(page.locator("span#status")).to_have_text("running", timeout=LIVE)
    assert still_same_document(page)


def test_work_filter_shows_running_or_queued_items(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("filters")
    work_ids = {api.session(env)["work_id"] for _ in range(3)}
    taken = api.take(env)
    queued = work_ids - {taken["id"]}
    assert len(queued) == 2

    login(page, server)
    page.goto(f"{server.url}/ui/environments/{env}")
    items = page.locator("table#work tr[data-id]")
    expect(items).to_have_count(3)

    state_filter(page, "running").click()
    expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=running")
    expect(state_filter(page, "running")).to_have_class(ACTIVE)
    expect(state_filter(page, "all")).not_to_have_class(ACTIVE)
    expect(items).to_have_count(1)
    row = page.locator(f"table#work tr[data-id='{taken['id']}']")
    expect(row.locator("td.state")).to_have_text("starting")
    expect(row.locator("td.session")).to_contain_text(taken["data"]["id"])

    # The live refresh keeps the filter: a new queued item shows in the stats, not in the table.
    work_ids.add(api.session(env)["work_id"])
    expect(page.locator("dd#stat-queued")).to_have_text("3", timeout=LIVE)
    expect(items).to_have_count(1)
    expect(row).to_have_count(1)

    state_filter(page, "queued").click()
    expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=queued")
    expect(state_filter(page, "queued")).to_have_class(ACTIVE)
    expect(items).to_have_count(3)
    expect(page.locator("table#work td.state")).to_have_text(["queued"] * 3)
    shown = {items.nth(i).get_attribute("data-id") for i in range(3)}
    assert shown == work_ids - {taken["id"]}

    state_filter(page, "stopped").click()
    expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=stopped")
    expect(items).to_have_count(0)

    state_filter(page, "all").click()
    expect(page).to_have_url(f"{server.url}/ui/environments/{env}?state=all")
    expect(state_filter(page, "all")).to_have_class(ACTIVE)
    expect(items).to_have_count(4)


def test_names_titles_and_messages_are_shown_as_text(
    server: ServerProcess, api: Api, page: Page
) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    name = "<img src=x onerror=alert(1)>"
    env = api.environment(name)

    login(page, server)
    cell = env_row(page, env).locator("td.name")
    expect(cell).to_have_text(name)
    expect(cell.locator("img")).to_have_count(0)
    cell.locator("a").click()
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("h1 img")).to_have_count(0)

    title = "<script>alert(2)</script><b>bold</b>"
    session = api.session(env, title)
    title_cell = session_row(page, session["id"]).locator("td.title")
    expect(title_cell).to_have_text(title, timeout=LIVE)  # also through the live refresh
    expect(title_cell.locator("b")).to_have_count(0)

    message = "<img src=y onerror=alert(3)> & <i>hi</i>"
    api.events(session["id"], {"type": "user.message", "content": message})
    page.goto(f"{server.url}/ui/sessions/{session['id']}")
    expect(page.locator("h1")).to_have_text(title)
    text = page.locator("ol#events li.event[data-type='user.message'] .text")
    expect(text).to_have_text(message)
    expect(text.locator("img, i")).to_have_count(0)
    assert dialogs == []


def test_unknown_or_malformed_ids_are_404(server: ServerProcess, page: Page) -> None:
    login(page, server)
    for path in (
        f"/ui/sessions/{UNKNOWN_SESSION}",
        f"/ui/environments/{UNKNOWN_ENVIRONMENT}",
        "/ui/environments/not-an-id",
    ):
        response = page.goto(f"{server.url}{path}")
        assert response is not None
        assert response.status == 404, path
        expect(page.locator(".error")).to_be_visible()


def test_empty_lists_are_empty_tables(server: ServerProcess, api: Api, page: Page) -> None:
    login(page, server)
    expect(page.locator("main#content table#environments")).to_have_count(1)
    expect(page.locator("table#environments tr[data-id]")).to_have_count(0)

    env = api.environment("quiet")
    row = env_row(page, env)
    expect(row).to_have_count(1, timeout=LIVE)  # the live refresh fills the table
    row.locator("td.name a").click()
    expect(page.locator("h1")).to_have_text("quiet")
    for table in ("sessions", "work"):
        expect(page.locator(f"main#content table#{table}")).to_have_count(1)
        expect(page.locator(f"table#{table} tr[data-id]")).to_have_count(0)
