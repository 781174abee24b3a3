"""The dashboard's pages over HTTP (both backends): paging past 100 rows, searches, the work item
page, the workers view, charts, fragments and the byte bound. The browser tests drive them live."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.dashboard_support import login
from tests.conftest import create_environment, create_session
from workyard.api.app import create_app
from workyard.clock import ManualClock
from workyard.domain.models import Session
from workyard.service.container import Services
from workyard.store.base import Insert
from workyard.ui.text import TEXT_LIMIT
from workyard.ui.views import SCAN_LIMIT

UI = "http://testserver"
MIB = 1024 * 1024


@pytest.fixture
async def ui(services: Services, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A dashboard client logged in as the admin."""
    app = create_app(services, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=UI, timeout=30) as c:
        response = await login(c, admin_token)
        assert response.status_code == 303
        yield c


async def _html(ui: httpx.AsyncClient, path: str, status: int = 200) -> str:
    response = await ui.get(path)
    assert response.status_code == status, response.text[:500]
    return response.text


def _ids(html: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}".*?</table>', html, re.S)
    assert body is not None, table
    return re.findall(r'<tr data-id="([^"]+)"', body.group(0))


def _link(html: str, rel: str, list_name: str | None = None) -> str | None:
    if list_name is not None:
        pager = re.search(rf'<nav class="pager" data-list="{list_name}".*?</nav>', html, re.S)
        html = "" if pager is None else pager.group(0)
    found = re.search(rf'<a class="\w+" rel="{rel}" href="([^"]+)"', html)
    return None if found is None else found.group(1).replace("&amp;", "&")


async def _walk(
    ui: httpx.AsyncClient, path: str, table: str, rel: str, first: str | None = None
) -> tuple[list[list[str]], str]:
    """Follow ``rel`` links from ``path``; every page's ids, and the last page's own path."""
    pages, here = [], first or path
    while True:
        html = await _html(ui, here)
        pages.append(_ids(html, table))
        link = _link(html, rel, table)
        if link is None:
            return pages, here
        here = path.split("?")[0] + link


async def test_the_overview_pages_past_100_environments_both_ways(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    made = [(await create_environment(client, name=f"env {n}"))["id"] for n in range(120)]
    pages, last = await _walk(ui, "/ui", "environments", "next")
    assert [len(p) for p in pages] == [50, 50, 20]
    seen = [i for p in pages for i in p]
    assert seen == sorted(made, reverse=True)  # newest first, each exactly once
    back, _ = await _walk(ui, "/ui", "environments", "prev", first=last)
    assert back == pages[::-1]


async def test_sessions_and_work_items_page_past_100(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = (await create_environment(client))["id"]
    sessions = [await create_session(client, env, title=f"task {n}") for n in range(110)]
    path = f"/ui/environments/{env}"
    pages, _ = await _walk(ui, path, "sessions", "next")
    assert [len(p) for p in pages] == [50, 50, 10]
    assert [i for p in pages for i in p] == sorted((s["id"] for s in sessions), reverse=True)

    work_pages, last = await _walk(ui, path + "?state=queued", "work", "next")
    assert [len(p) for p in work_pages] == [50, 50, 10]
    assert [i for p in work_pages for i in p] == sorted(s["work_id"] for s in sessions)
    assert "state=queued" in last  # the filter is kept from page to page
    html = await _html(ui, last)
    assert re.search(r'<a href="/ui/sessions/sess_\w+">task \d+</a>', html)  # titles, not ids


async def test_a_long_session_pages_back_from_its_newest_events(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = (await create_environment(client))["id"]
    session = await create_session(client, env)
    texts = [f"message {n}" for n in range(520)]
    for start in range(0, len(texts), 100):
        batch = [{"type": "user.message", "content": t} for t in texts[start : start + 100]]
        response = await client.post(f"/sessions/{session['id']}/events", json={"events": batch})
        assert response.status_code == 200, response.text
    path = f"/ui/sessions/{session['id']}"
    shown: list[list[str]] = []
    here = path
    while True:
        html = await _html(ui, here)
        shown.append(re.findall(r'<div class="text">(message \d+)</div>', html))
        assert ("data-stream=" in html) == (here == path)  # only the newest page follows live
        older = _link(html, "prev")
        if older is None:
            break
        here = path + older
    assert shown[0] == texts[-50:]  # the newest 50, oldest first
    assert [t for page in shown[::-1] for t in page] == texts
    newer = _link(await _html(ui, here), "next")
    assert newer is not None
    assert (
        re.findall(r'<div class="text">(message \d+)</div>', await _html(ui, path + newer))
        == (texts[20:70])
    )


async def test_sessions_are_found_by_title_status_and_metadata(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = (await create_environment(client))["id"]
    fix = await create_session(client, env, title="Fix the build", metadata={"team": "core"})
    docs = await create_session(client, env, title="write docs", metadata={"team": "docs"})
    other = await create_session(client, env, title="fix flaky test", metadata={"team": "core"})
    taken = await client.get(f"/environments/{env}/work/poll", headers={"worker-id": "w1"})
    assert taken.json()["id"] == fix["work_id"]
    assert (await client.post(f"/environments/{env}/work/{fix['work_id']}/ack")).status_code == 200
    path = f"/ui/environments/{env}"

    async def found(query: str) -> set[str]:
        return set(_ids(await _html(ui, f"{path}?{query}"), "sessions"))

    assert await found("title=FIX") == {fix["id"], other["id"]}
    assert await found("title=docs") == {docs["id"]}
    assert await found("meta=team%3Dcore") == {fix["id"], other["id"]}
    assert await found("status=running") == {fix["id"]}
    assert await found("status=rescheduling&meta=team%3Dcore") == {other["id"]}
    assert await found("title=nothing") == set()
    assert "No sessions match." in await _html(ui, f"{path}?title=nothing")

    bad = await _html(ui, f"{path}?meta=team", status=400)
    assert "meta must be key=value pairs" in bad
    long = await _html(ui, f"{path}?title={'x' * 300}", status=400)
    assert "title is longer than 256 characters" in long
    cursor = await ui.get(f"{path}?sessions=not-a-cursor")
    assert cursor.status_code == 400
    assert "not a valid pagination cursor" in cursor.text


async def test_work_items_are_found_by_holder_with_durations(
    ui: httpx.AsyncClient, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = (await create_environment(client, name="fleet"))["id"]
    made = [await create_session(client, env, title=f"job {n}") for n in range(3)]
    clock.advance(7)
    held = {}
    for worker in ("w1", "w2"):
        item = await client.get(f"/environments/{env}/work/poll", headers={"worker-id": worker})
        work_id = item.json()["id"]
        ack = await client.post(
            f"/environments/{env}/work/{work_id}/ack", headers={"worker-id": worker}
        )
        assert ack.status_code == 200, ack.text
        held[worker] = work_id
    clock.advance(3)
    html = await _html(ui, f"/ui/environments/{env}?holder=w1")
    assert _ids(html, "work") == [held["w1"]]
    row = re.search(rf'<tr data-id="{held["w1"]}">(.*?)</tr>', html, re.S)
    assert row is not None
    assert '<td class="queued-for">7s</td>' in row.group(1)
    assert '<td class="holder"><a href="?state=all&amp;holder=w1">w1</a></td>' in row.group(1)
    assert "job 0" in row.group(1)  # the session's title
    assert set(_ids(await _html(ui, f"/ui/environments/{env}?holder=w2"), "work")) == {held["w2"]}
    assert _ids(await _html(ui, f"/ui/environments/{env}?holder=w3"), "work") == []
    queued = await _html(ui, f"/ui/environments/{env}?state=queued")
    assert _ids(queued, "work") == [made[2]["work_id"]]
    assert re.search(r'<td class="queued-for">10s</td>', queued)  # still queued: until now


async def test_the_work_item_page_shows_its_lifecycle(
    ui: httpx.AsyncClient, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = (await create_environment(client, name="line"))["id"]
    session = await create_session(client, env, title="the job")
    work_id = session["work_id"]
    base = f"/environments/{env}/work/{work_id}"
    assert (await client.post(base, json={"metadata": {"repo": "api"}})).status_code == 200
    clock.advance(5)
    await client.get(f"/environments/{env}/work/poll", headers={"worker-id": "w9"})
    assert (await client.post(f"{base}/ack", headers={"worker-id": "w9"})).status_code == 200
    clock.advance(2)
    assert (await client.post(f"{base}/heartbeat")).status_code == 200
    clock.advance(10)
    page = await _html(ui, f"/ui/environments/{env}/work/{work_id}")
    assert '<a href="/ui/environments/' in page and ">line</a> / work / " in page  # the name
    assert re.search(r'id="session-link" href="/ui/sessions/sess_\w+">the job</a>', page)
    assert re.search(r'id="holder"[^>]*>w9</a>', page)
    assert '<dd id="queued-for">5s</dd>' in page
    step = r'data-step="([^"]+)">\s*<span class="name">[^<]*</span>\s*<span class="at">(.*?)</span>'
    steps = dict(re.findall(step + r"\s*(?:<span|</li>)", page, re.S))
    for done in ("created", "delivered", "acknowledged", "latest heartbeat"):
        assert "UTC</time>" in steps[done], (done, steps)
    for pending in ("stop requested", "stopped"):
        assert steps[pending] == "—"
    assert '<th scope="row">repo</th><td>api</td>' in page

    stopped = await client.post(f"{base}/stop", json={"force": True})
    assert stopped.status_code == 200, stopped.text
    page = await _html(ui, f"/ui/environments/{env}/work/{work_id}")
    assert 'data-step="stopped"' in page and 'class="badge stopped"' in page
    assert (await ui.get(f"/ui/environments/{env}/work/work_{'0' * 32}")).status_code == 404


async def test_the_workers_view_shows_who_polled_and_what_each_holds(
    ui: httpx.AsyncClient, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = (await create_environment(client, name="crew"))["id"]
    session = await create_session(client, env)
    await client.get(f"/environments/{env}/work/poll", headers={"worker-id": "holder-1"})
    ack = await client.post(
        f"/environments/{env}/work/{session['work_id']}/ack", headers={"worker-id": "holder-1"}
    )
    assert ack.status_code == 200
    clock.advance(40)  # holder-1's poll leaves the 30 s window; it still holds its item
    idle = await client.get(f"/environments/{env}/work/poll", headers={"worker-id": "idle-2"})
    assert idle.status_code == 200 and idle.json() is None
    page = await _html(ui, f"/ui/environments/{env}/workers")
    assert _ids(page, "workers") == ["holder-1", "idle-2"]
    one = re.search(r'<tr data-id="holder-1">(.*?)</tr>', page, re.S)
    two = re.search(r'<tr data-id="idle-2">(.*?)</tr>', page, re.S)
    assert one is not None and two is not None
    assert f'data-id="{session["work_id"]}"' in one.group(1) and "not lately" in one.group(1)
    assert "UTC</time>" in two.group(1) and "nothing" in two.group(1)


async def test_charts_count_finished_items_and_queue_wait_per_minute(
    ui: httpx.AsyncClient, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = (await create_environment(client))["id"]
    for wait in (4, 8):
        session = await create_session(client, env)
        clock.advance(wait)
        base = f"/environments/{env}/work/{session['work_id']}"
        await client.get(f"/environments/{env}/work/poll")
        assert (await client.post(f"{base}/ack")).status_code == 200
        assert (await client.post(f"{base}/stop", json={"force": True})).status_code == 200
        clock.advance(120)  # the next item lands two minutes later
    page = await _html(ui, f"/ui/environments/{env}")
    charts = re.findall(r'<figure class="chart".*?</figure>', page, re.S)
    assert len(charts) == 2
    finished, wait = charts
    assert "2 in all" in finished
    assert len(re.findall(r'<rect class="bar"', finished)) == 2
    assert "peak 8 s" in wait
    assert len(re.findall(r'<rect class="bar"', wait)) == 2
    assert "style=" not in page and "<script>" not in page  # the CSP holds: no inline style
    clock.advance(3600)
    later = await _html(ui, f"/ui/environments/{env}")
    assert "0 in all" in later and '<rect class="bar"' not in later  # an hour later: gone


async def test_a_fragment_refresh_returns_only_the_fragments_asked_for(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = (await create_environment(client))["id"]
    session = await create_session(client, env, title="fragments")
    headers = {"x-workyard-partial": "stats,sessions"}
    partial = (await ui.get(f"/ui/environments/{env}", headers=headers)).text
    parts = re.findall(r'<template data-part="(\w+)">', partial)
    assert parts == ["sessions", "stats"]
    assert '<dd id="stat-queued">1</dd>' in partial
    assert f'<tr data-id="{session["id"]}">' in partial
    assert "<h1>" not in partial and 'id="work"' not in partial
    status = await ui.get(f"/ui/sessions/{session['id']}", headers={"x-workyard-partial": "status"})
    assert re.findall(r'<template data-part="(\w+)">', status.text) == ["status"]
    assert 'id="status"' in status.text and "events" not in status.text


async def test_a_page_of_one_mib_events_stays_small(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = (await create_environment(client))["id"]
    session = await create_session(client, env)
    body = "y" * MIB
    for _ in range(10):
        batch = [{"type": "user.message", "content": body} for _ in range(10)]
        response = await client.post(f"/sessions/{session['id']}/events", json={"events": batch})
        assert response.status_code == 200, response.text[:200]
    page = await ui.get(f"/ui/sessions/{session['id']}")
    assert page.status_code == 200
    assert len(page.content) < 256 * 1024, len(page.content)  # 50 events of 1 MiB each shown
    cut = re.findall(r'<div class="text">(y+)</div>', page.text)
    assert len(cut) == 50 and all(len(t) == TEXT_LIMIT for t in cut)
    full = re.findall(r'<a class="full" href="([^"]+)">', page.text)
    assert len(full) == 50
    event = await ui.get(full[-1])
    assert event.status_code == 200
    assert event.headers["content-type"].startswith("application/json")
    assert event.headers["x-content-type-options"] == "nosniff"
    assert event.json()["content"] == [{"type": "text", "text": body}]
    partial = await ui.get(
        f"/ui/sessions/{session['id']}", headers={"x-workyard-partial": "status"}
    )
    assert len(partial.content) < 4096  # the live refresh never carries events


async def test_full_events_and_the_stream_need_the_login_and_the_right_session(
    ui: httpx.AsyncClient, client: httpx.AsyncClient, services: Services
) -> None:
    env = (await create_environment(client))["id"]
    one, two = await create_session(client, env), await create_session(client, env)
    sent = await client.post(f"/sessions/{one['id']}/events", json={"events": [
        {"type": "user.message", "content": "hi"}]})  # fmt: skip
    event_id = sent.json()["data"][0]["id"]
    assert (await ui.get(f"/ui/sessions/{one['id']}/events/{event_id}")).json()["id"] == event_id
    wrong = await ui.get(f"/ui/sessions/{two['id']}/events/{event_id}")
    assert wrong.status_code == 404 and wrong.json()["error"]["type"] == "not_found_error"
    bad_after = await ui.get(f"/ui/sessions/{one['id']}/events/stream?after_id=nope")
    assert bad_after.status_code == 400
    app = create_app(services, manage_lifecycle=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=UI) as anon:
        stream = await anon.get(f"/ui/sessions/{one['id']}/events/stream")
        assert stream.status_code == 401
        full = await anon.get(f"/ui/sessions/{one['id']}/events/{event_id}")
        assert full.status_code == 303 and full.headers["location"] == "/ui/login"


def _names(html: str) -> Any:
    return re.search(r'<p class="crumbs">(.*?)</p>', html, re.S)


async def test_breadcrumbs_name_the_environment_and_the_session(
    ui: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = (await create_environment(client, name="named env"))["id"]
    session = await create_session(client, env, title="named session")
    crumbs = _names(await _html(ui, f"/ui/sessions/{session['id']}"))
    assert crumbs is not None
    assert f'<a href="/ui/environments/{env}">named env</a> / named session' in crumbs.group(1)
    crumbs = _names(await _html(ui, f"/ui/environments/{env}"))
    assert crumbs is not None and crumbs.group(1).endswith("/ named env")
    page = await _html(ui, f"/ui/sessions/{session['id']}")
    assert re.search(
        r'<time datetime="2026-07-01T08:00:00\.\d{6}Z">2026-07-01 08:00:00 UTC</time>', page
    )


async def test_a_search_looks_at_a_bounded_number_of_rows_and_offers_to_go_on(
    ui: httpx.AsyncClient, client: httpx.AsyncClient, services: Services
) -> None:
    env = (await create_environment(client))["id"]
    now = services.clock.now()
    total = SCAN_LIMIT + 100
    titles = {1: "needle old", total: "needle new"}
    rows = [
        Session(f"sess_{n:032x}", env, None, titles.get(n, f"hay {n}"), {}, None, None, now, now)
        for n in range(1, total + 1)
    ]
    for start in range(0, total, 1000):
        assert await services.store.commit([Insert(r) for r in rows[start : start + 1000]])
    path = f"/ui/environments/{env}"
    first = await _html(ui, f"{path}?title=needle")
    assert _ids(first, "sessions") == [rows[-1].id]
    assert "This search looked at the next 5,000 rows and stopped" in first
    onwards = _link(first, "next", "sessions")
    assert onwards is not None and "title=needle" in onwards
    second = await _html(ui, path + onwards)
    assert _ids(second, "sessions") == [rows[0].id]
    assert "This search looked at" not in second.split('id="work"')[0]
    assert _link(second, "next", "sessions") is None
