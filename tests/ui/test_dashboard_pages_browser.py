"""The dashboard's pages in a real Chromium: paging past 100 rows, the session page following new
events over SSE (and resuming), a 420 px wide screen, dark mode, and the byte bound.

The data is made over the REST API. Waits are Playwright's auto-waiting assertions, never sleeps.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.api.dashboard_support import csrf_of
from tests.e2e.conftest import ServerProcess
from tests.ui.conftest import Api
from tests.ui.test_dashboard_browser import login, mark_document, still_same_document
from workyard.ui.text import TEXT_LIMIT

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

with contextlib.suppress(ImportError):  # without Playwright the ``page`` fixture skips (CI: fails)
    from playwright.async_api import expect

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
NARROW = 420  # px: a phone


def pager(page: Page, list_name: str, rel: str) -> Any:
    return page.locator(f"nav.pager[data-list='{list_name}'] a[rel='{rel}']")


async def row_ids(page: Page, table: str) -> list[str]:
    ids: list[str] = await page.locator(f"table#{table} tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    return ids


async def test_sessions_page_past_100_rows_and_back(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("many")
    made = [api.session(env, f"task {n}")["id"] for n in range(110)]
    await login(page, server)
    await page.goto(f"{server.url}/ui/environments/{env}")
    rows = page.locator("table#sessions tr[data-id]")
    seen: list[str] = []
    for expected in (50, 50, 10):
        await expect(rows).to_have_count(expected)
        seen += await row_ids(page, "sessions")
        if expected == 10:
            await expect(pager(page, "sessions", "next")).to_have_count(0)
            break
        await pager(page, "sessions", "next").click()
    assert seen == sorted(made, reverse=True)
    await pager(page, "sessions", "prev").click()
    await expect(rows).to_have_count(50)
    assert await row_ids(page, "sessions") == seen[50:100]
    assert await row_ids(page, "work") != []  # the work list keeps its own (first) page


async def test_the_session_page_follows_new_events_without_reloading(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("live")
    session = api.session(env, "streamed")
    (first,) = api.events(session["id"], {"type": "user.message", "content": "before"})
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events/stream" in r.url else None)
    await login(page, server)
    await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    events = page.locator("ol#events li.event")
    await expect(events).to_have_count(1)
    await mark_document(page)

    (hello,) = api.events(session["id"], {"type": "user.message", "content": "sent live <b>!</b>"})
    added = page.locator(f"ol#events li.event[data-id='{hello['id']}']")
    await expect(added.locator(".text")).to_have_text("sent live <b>!</b>")
    await expect(added.locator("b")).to_have_count(0)
    await expect(added).to_have_attribute("data-type", "user.message")
    await expect(added.locator("time")).to_have_text(
        hello["processed_at"][:19].replace("T", " ") + " UTC"
    )
    await expect(events).to_have_count(2)
    assert await still_same_document(page)
    assert streams and all(f"after_id={first['id']}" in url for url in streams[:1]), streams

    api.take(env)  # the status line refreshes as a fragment
    await expect(page.locator("span#status")).to_have_text("running", timeout=6_000)
    await expect(events).to_have_count(2)  # the refresh did not redraw the events
    assert await still_same_document(page)


def test_the_stream_resumes_after_the_last_event_id(server: ServerProcess, api: Api) -> None:
    env = api.environment("resume")
    session = api.session(env)
    sent = api.events(
        session["id"], *({"type": "user.message", "content": f"n{n}"} for n in range(25))
    )
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        form = browser.get("/ui/login")
        data = {"token": server.token, "csrf": csrf_of(form.text)}
        login = browser.post("/ui/login", data=data, headers={"origin": server.url.rstrip("/")})
        assert login.status_code == 303
        url = f"/ui/sessions/{session['id']}/events/stream"
        with browser.stream("GET", url, headers={"last-event-id": sent[0]["id"]}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            frames: list[list[str]] = [[]]
            for line in response.iter_lines():
                if line:
                    frames[-1].append(line)
                elif frames[-1]:
                    if len(frames) == 24:
                        break
                    frames.append([])
    assert [f[0] for f in frames] == [f"id: {e['id']}" for e in sent[1:]]  # in order, once each
    assert {f[1] for f in frames} == {"event: user.message"}
    cards = [json.loads(f[2].removeprefix("data: ")) for f in frames]
    assert [c["text"] for c in cards] == [f"n{n}" for n in range(1, 25)]
    assert not any(c["cut"] for c in cards)


async def test_every_page_fits_a_420px_screen(
    server: ServerProcess, api: Api, browser: Browser
) -> None:
    env = api.environment("a rather long environment name " * 3)
    session = api.session(env, "a session title that goes on and on " * 4)
    api.events(session["id"], {"type": "user.message", "content": "word " * 400 + "x" * 500})
    taken = api.take(env, worker="a-worker-with-a-long-id-0123456789-abcdefghij")
    context = await browser.new_context(viewport={"width": NARROW, "height": 800})
    try:
        page = await context.new_page()
        await login(page, server)
        for path in (
            "/ui",
            f"/ui/environments/{env}",
            f"/ui/environments/{env}/workers",
            f"/ui/environments/{env}/work/{taken['id']}",
            f"/ui/sessions/{session['id']}",
        ):
            await page.goto(f"{server.url}{path}")
            await expect(page.locator("h1")).to_be_visible()
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= NARROW, (path, wide)
    finally:
        await context.close()


async def test_the_dashboard_follows_the_dark_color_scheme(
    server: ServerProcess, browser: Browser
) -> None:
    colors = []
    for scheme in ("light", "dark"):
        context = await browser.new_context(color_scheme=scheme)
        try:
            page = await context.new_page()
            await login(page, server)
            colors.append(await page.evaluate("getComputedStyle(document.body).backgroundColor"))
        finally:
            await context.close()
    assert colors[0] != colors[1], colors


async def test_a_session_of_one_mib_events_stays_small_in_the_browser(
    server: ServerProcess, api: Api, page: Page
) -> None:
    env = api.environment("heavy")
    session = api.session(env)
    body = "z" * MIB
    for _ in range(10):
        api.events(session["id"], *({"type": "user.message", "content": body} for _ in range(10)))
    await login(page, server)
    response = await page.goto(f"{server.url}/ui/sessions/{session['id']}")
    assert response is not None and response.status == 200
    size = len(await response.body())
    assert size < 256 * 1024, size
    events = page.locator("ol#events li.event")
    await expect(events).to_have_count(50)
    texts = await page.locator("ol#events li.event .text").evaluate_all(
        "els => els.map(e => e.textContent.length)"
    )
    assert texts == [TEXT_LIMIT] * 50

    (live,) = api.events(session["id"], {"type": "user.message", "content": body})
    added = page.locator(f"ol#events li.event[data-id='{live['id']}']")
    await expect(added.locator("a.full")).to_be_visible()  # cut over SSE too
    assert await added.locator(".text").evaluate("e => e.textContent.length") == TEXT_LIMIT
    await added.locator("a.full").click()
    await expect(page).to_have_url(f"{server.url}/ui/sessions/{session['id']}/events/{live['id']}")
    full = json.loads(await page.locator("body").inner_text())
    assert full["content"] == [{"type": "text", "text": body}]
