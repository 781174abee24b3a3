"""The dashboard's actions over HTTP (both backends): each one's effect, seen through the API;
confirmation first for the destructive ones; stale pages, bad input and permissions change nothing.

The browser tests in tests/ui/test_dashboard_actions_browser.py click the same forms in Chromium.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.dashboard_support import UI, csrf_of, dashboard, login, post_form
from tests.conftest import TokenFactory, create_environment, create_session
from workyard.domain.models import TokenKind
from workyard.service.container import Services

NOWHERE = "sess_00000000000000000000000000000000"


@pytest.fixture
async def browser(services: Services, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard, logged in as the admin of ``client``."""
    async with dashboard(services) as c:
        assert (await login(c, admin_token)).status_code == 303
        yield c


async def _flash(browser: httpx.AsyncClient, response: httpx.Response) -> str:
    """Follow an action's redirect; the flash message the page shows (once)."""
    assert response.status_code == 303, response.text
    page = await browser.get(response.headers["location"])
    found = re.search(r'<p id="flash" class="flash" role="status">([^<]*)</p>', page.text)
    assert found is not None, page.text
    again = await browser.get(response.headers["location"])
    assert 'id="flash"' not in again.text  # shown once
    return found.group(1)


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    found = re.search(r'<p class="error" id="action-error">([^<]*)</p>', response.text)
    assert found is not None, response.text
    return found.group(1)


async def _running(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """An environment and a session whose work item a worker has taken (``starting``)."""
    env = await create_environment(client)
    session = await create_session(client, env["id"], title="the task")
    base = f"/environments/{env['id']}/work"
    item = (await client.get(f"{base}/poll", headers={"worker-id": "w1"})).json()
    acked = await client.post(f"{base}/{item['id']}/ack", headers={"worker-id": "w1"})
    assert acked.json()["state"] == "starting"
    return env["id"], (await client.get(f"/sessions/{session['id']}")).json()


async def _work(client: httpx.AsyncClient, env_id: str, work_id: str) -> dict[str, Any]:
    item: dict[str, Any] = (await client.get(f"/environments/{env_id}/work/{work_id}")).json()
    return item


# work items -----------------------------------------------------------------------------------
async def test_stop_asks_first_then_stops_and_a_second_stop_is_stale(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env_id, session = await _running(client)
    work_id = (await client.get(f"/environments/{env_id}/work")).json()["data"][0]["id"]
    url = f"/ui/environments/{env_id}/work/{work_id}/stop"
    page = f"/ui/sessions/{session['id']}"
    env_page = (await browser.get(f"/ui/environments/{env_id}")).text
    assert f'href="{url}?next=' in env_page  # the work table links to the confirmation

    ask = await browser.get(f"{url}?next={page}")
    assert ask.status_code == 200 and 'form id="confirm-form"' in ask.text
    assert work_id in ask.text
    unconfirmed = await post_form(browser, url, page, next=page)
    assert unconfirmed.status_code == 200 and 'form id="confirm-form"' in unconfirmed.text
    assert (await _work(client, env_id, work_id))["state"] == "starting"

    stop = await post_form(browser, url, page, confirm="yes", next=page)
    assert stop.headers["location"] == page
    assert "is stopping" in await _flash(browser, stop)
    assert (await _work(client, env_id, work_id))["state"] == "stopping"

    force = await post_form(browser, url, page, confirm="yes", force=1, next=page)
    assert "stopped" in await _flash(browser, force)
    stopped = await _work(client, env_id, work_id)
    assert stopped["state"] == "stopped"

    stale = await post_form(browser, url, page, confirm="yes", force=1)
    assert "has already stopped" in _error(stale, 409)
    assert "nothing was changed" in stale.text
    assert await _work(client, env_id, work_id) == stopped


async def test_racing_force_stops_succeed_exactly_once(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env_id, _ = await _running(client)
    work_id = (await client.get(f"/environments/{env_id}/work")).json()["data"][0]["id"]
    url = f"/ui/environments/{env_id}/work/{work_id}/stop"
    csrf = csrf_of((await browser.get("/ui")).text)
    data = {"csrf": csrf, "confirm": "yes", "force": "1"}
    answers = await asyncio.gather(
        *(browser.post(url, data=data, headers={"origin": UI}) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [303, 409, 409, 409]
    assert (await _work(client, env_id, work_id))["state"] == "stopped"


# sessions -------------------------------------------------------------------------------------
async def test_cancel_interrupts_a_running_session_and_is_stale_when_idle(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env_id, session = await _running(client)
    sid = session["id"]
    page = f"/ui/sessions/{sid}"
    assert f'href="{page}/cancel"' in (await browser.get(page)).text
    assert 'form id="confirm-form"' in (await browser.get(f"{page}/cancel")).text
    cancel = await post_form(browser, f"{page}/cancel", page, confirm="yes")
    assert "interrupt" in await _flash(browser, cancel)
    events = (await client.get(f"/sessions/{sid}/events")).json()["data"]
    assert [e["type"] for e in events] == ["user.interrupt"]

    idle = await create_session(client, env_id)
    stale = await post_form(browser, f"/ui/sessions/{idle['id']}/cancel", confirm="yes")
    assert "not running" in _error(stale, 409)
    assert (await client.get(f"/sessions/{idle['id']}/events")).json()["data"] == []


async def test_archive_then_delete_a_session(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env_id, session = await _running(client)
    sid = session["id"]
    page = f"/ui/sessions/{sid}"
    ask = await browser.get(f"{page}/archive")
    assert "the task" in ask.text and 'form id="confirm-form"' in ask.text
    assert (await client.get(f"/sessions/{sid}")).json()["archived_at"] is None

    archive = await post_form(browser, f"{page}/archive", page, confirm="yes")
    assert "archived" in await _flash(browser, archive)
    archived = (await client.get(f"/sessions/{sid}")).json()
    assert archived["archived_at"] is not None
    stale = await post_form(browser, f"{page}/archive", confirm="yes")
    assert "already archived" in _error(stale, 409)
    assert (await client.get(f"/sessions/{sid}")).json() == archived
    assert 'id="send-message"' not in (await browser.get(page)).text

    delete = await post_form(browser, f"{page}/delete", page, confirm="yes")
    assert delete.headers["location"] == f"/ui/environments/{env_id}"
    assert "deleted" in await _flash(browser, delete)
    assert (await client.get(f"/sessions/{sid}")).status_code == 404
    again = await post_form(browser, f"{page}/delete", confirm="yes")
    assert "not found" in _error(again, 404)


async def test_send_a_message_and_the_cases_that_send_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = await create_environment(client)
    session = await create_session(client, env["id"])
    sid = session["id"]
    page = f"/ui/sessions/{sid}"
    assert 'form id="send-message"' in (await browser.get(page)).text
    sent = await post_form(browser, f"{page}/events", page, text="  <b>hello</b> there ")
    assert await _flash(browser, sent) == "Message sent."
    events = (await client.get(f"/sessions/{sid}/events")).json()["data"]
    assert [(e["type"], e["content"]) for e in events] == [
        ("user.message", [{"type": "text", "text": "<b>hello</b> there"}])
    ]

    empty = await post_form(browser, f"{page}/events", page, text="   ")
    assert "Write a message first" in _error(empty, 400)
    await client.post(f"/sessions/{sid}/archive")
    archived = await post_form(browser, f"{page}/events", text="too late")
    assert "archived" in _error(archived, 400)
    assert len((await client.get(f"/sessions/{sid}/events")).json()["data"]) == 1


# environments ---------------------------------------------------------------------------------
async def test_create_and_archive_an_environment(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    assert 'form id="new-environment"' in (await browser.get("/ui")).text
    created = await post_form(
        browser, "/ui/environments", name=" lab ", type="self_hosted", description="the lab"
    )
    location = created.headers["location"]
    assert re.fullmatch(r"/ui/environments/env_[0-9a-f]{32}", location)
    assert "created" in await _flash(browser, created)
    env_id = location.rsplit("/", 1)[1]
    env = (await client.get(f"/environments/{env_id}")).json()
    assert (env["name"], env["config"]["type"], env["description"]) == (
        "lab", "self_hosted", "the lab"
    )  # fmt: skip

    page = f"/ui/environments/{env_id}"
    assert 'form id="confirm-form"' in (await browser.get(f"{page}/archive")).text
    archive = await post_form(browser, f"{page}/archive", page, confirm="yes")
    assert archive.headers["location"] == "/ui"
    assert "archived" in await _flash(browser, archive)
    archived = (await client.get(f"/environments/{env_id}")).json()
    assert archived["archived_at"] is not None
    stale = await post_form(browser, f"{page}/archive", confirm="yes")
    assert "already archived" in _error(stale, 409)
    assert (await client.get(f"/environments/{env_id}")).json() == archived


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "  ", "type": "self_hosted"}, "A name is required"),
        ({"name": "n" * 300, "type": "self_hosted"}, "longer than"),
        ({"name": "x", "type": "moon"}, "must be one of self_hosted, cloud"),
    ],
)
async def test_a_bad_environment_form_creates_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, fields: dict[str, str], message: str
) -> None:
    response = await post_form(browser, "/ui/environments", **fields)
    assert message in _error(response, 400)
    assert (await client.get("/environments")).json()["data"] == []


# tokens ---------------------------------------------------------------------------------------
async def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(
    browser: httpx.AsyncClient, services: Services, client_for: Any
) -> None:
    page = (await browser.get("/ui/tokens")).text
    assert 'form id="new-token"' in page and 'id="nav-tokens"' in page
    created = await post_form(
        browser, "/ui/tokens", "/ui/tokens", name="ci", kind="member", expires_in="30d"
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    secret = re.search(r'<code id="token-secret">(pt-[^<]+)</code>', created.text)
    assert secret is not None
    async with client_for(secret.group(1)) as api:
        assert (await api.get("/environments")).status_code == 200
    record = next(r for r in await services.tokens.list_tokens() if r.name == "ci")
    assert record.kind is TokenKind.MEMBER and record.expires_at is not None
    listing = (await browser.get("/ui/tokens")).text
    assert record.id in listing and secret.group(1) not in listing

    url = f"/ui/tokens/{record.id}/revoke"
    assert 'form id="confirm-form"' in (await browser.get(url)).text
    revoke = await post_form(browser, url, "/ui/tokens", confirm="yes")
    assert "revoked" in await _flash(browser, revoke)
    async with client_for(secret.group(1)) as api:
        assert (await api.get("/environments")).status_code == 401
    stale = await post_form(browser, url, "/ui/tokens", confirm="yes")
    assert "already revoked" in _error(stale, 409)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "kind": "member"}, "A name is required"),
        ({"name": "w", "kind": "root"}, "admin, member or worker"),
        ({"name": "w", "kind": "member", "environments": "env_x"}, "not an environment id"),
        ({"name": "w", "kind": "member", "expires_in": "soon"}, "Invalid duration"),
        (
            {"name": "w", "kind": "member", "environments": "env_" + "0" * 32},
            "only worker tokens can be restricted",
        ),
    ],
)
async def test_a_bad_token_form_creates_nothing(
    browser: httpx.AsyncClient, services: Services, fields: dict[str, str], message: str
) -> None:
    before = len(await services.tokens.list_tokens())
    response = await post_form(browser, "/ui/tokens", "/ui/tokens", **fields)
    assert message.lower() in _error(response, 400).lower()
    assert len(await services.tokens.list_tokens()) == before


async def test_a_worker_token_for_some_environments(
    browser: httpx.AsyncClient, services: Services, client: httpx.AsyncClient
) -> None:
    env = await create_environment(client)
    created = await post_form(
        browser, "/ui/tokens", "/ui/tokens", name="runner", kind="worker",
        environments=f"{env['id']}, ",
    )  # fmt: skip
    assert created.status_code == 201
    record = next(r for r in await services.tokens.list_tokens() if r.name == "runner")
    assert record.kind is TokenKind.WORKER and record.environment_ids == (env["id"],)


# permissions: a member may do what a member token may do through the API ----------------------
async def test_a_member_acts_on_sessions_but_not_on_tokens(
    services: Services, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    member = await make_token("member")
    before = len(await services.tokens.list_tokens())
    env = await create_environment(client)
    session = await create_session(client, env["id"])
    async with dashboard(services) as browser:
        await login(browser, member)
        overview = (await browser.get("/ui")).text
        assert 'id="nav-tokens"' not in overview
        sent = await post_form(browser, f"/ui/sessions/{session['id']}/events", text="hi")
        assert sent.status_code == 303
        page = await browser.get("/ui/tokens")
        assert page.status_code == 403 and "Only admin tokens" in page.text
        create = await post_form(browser, "/ui/tokens", name="sneaky", kind="admin")
        assert "Only admin tokens" in _error(create, 403)
        admin_id = (await services.tokens.list_tokens())[0].id
        revoke = await post_form(browser, f"/ui/tokens/{admin_id}/revoke", confirm="yes")
        assert "Only admin tokens" in _error(revoke, 403)
    tokens = await services.tokens.list_tokens()
    assert len(tokens) == before and all(t.revoked_at is None for t in tokens)


# every action refuses a forged form, a foreign origin and an ended session ---------------------
async def _targets(client: httpx.AsyncClient) -> dict[str, tuple[str, dict[str, str]]]:
    env_id, session = await _running(client)
    work_id = (await client.get(f"/environments/{env_id}/work")).json()["data"][0]["id"]
    sid = session["id"]
    return {
        "stop": (f"/ui/environments/{env_id}/work/{work_id}/stop", {"force": "1"}),
        "archive session": (f"/ui/sessions/{sid}/archive", {}),
        "cancel": (f"/ui/sessions/{sid}/cancel", {}),
        "delete session": (f"/ui/sessions/{sid}/delete", {}),
        "send": (f"/ui/sessions/{sid}/events", {"text": "hello"}),
        "create environment": ("/ui/environments", {"name": "new", "type": "cloud"}),
        "archive environment": (f"/ui/environments/{env_id}/archive", {}),
        "create token": ("/ui/tokens", {"name": "new", "kind": "admin"}),
    }


async def _snapshot(client: httpx.AsyncClient, services: Services) -> list[Any]:
    envs = (await client.get("/environments?include_archived=true")).json()["data"]
    sessions = (await client.get("/sessions?include_archived=true")).json()["data"]
    work = [(await client.get(f"/environments/{e['id']}/work")).json()["data"] for e in envs]
    events = [(await client.get(f"/sessions/{s['id']}/events")).json()["data"] for s in sessions]
    tokens = await services.tokens.list_tokens()
    return [envs, sessions, work, events, tokens]


@pytest.mark.parametrize("forgery", ["no csrf", "wrong csrf", "foreign origin", "logged out"])
async def test_forged_or_foreign_or_late_forms_change_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, services: Services, forgery: str
) -> None:
    targets = await _targets(client)
    before = await _snapshot(client, services)
    csrf = csrf_of((await browser.get("/ui")).text)
    if forgery == "logged out":
        await post_form(browser, "/ui/logout")
    for name, (path, fields) in targets.items():
        data = {"confirm": "yes", **fields, "csrf": csrf}
        headers = {"origin": UI}
        if forgery == "no csrf":
            del data["csrf"]
        elif forgery == "wrong csrf":
            data["csrf"] = csrf[::-1]
        elif forgery == "foreign origin":
            headers = {"origin": "https://evil.example"}
        response = await browser.post(path, data=data, headers=headers)
        if forgery == "logged out":
            assert response.status_code == 401, name
            assert "expired or was ended" in response.text and 'form id="login"' in response.text
        else:
            assert response.status_code == 403, name
            text = "another site" if forgery == "foreign origin" else "security token"
            assert text in _error(response, 403), name
    assert await _snapshot(client, services) == before


@pytest.mark.parametrize(
    "path",
    [
        "/ui/sessions/bogus/archive",
        f"/ui/sessions/{NOWHERE}/delete",
        "/ui/environments/env_00000000000000000000000000000000/archive",
        "/ui/environments/bogus/work/work_00000000000000000000000000000000/stop",
        "/ui/tokens/tok_00000000000000000000000000000000/revoke",
    ],
)
async def test_unknown_things_are_a_404_on_the_page(browser: httpx.AsyncClient, path: str) -> None:
    confirm = await browser.get(path)
    assert confirm.status_code == 404 and 'class="error"' in confirm.text
    posted = await post_form(browser, path, confirm="yes")
    message = _error(posted, 404).lower()
    assert "not found" in message or "no token" in message


async def test_an_action_never_redirects_to_another_site(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    env = await create_environment(client)
    session = await create_session(client, env["id"])
    for bad in ("https://evil.example/", "//evil.example/ui", "/ui/../x", "/uix", "/ui\\evil"):
        sent = await post_form(browser, f"/ui/sessions/{session['id']}/events", text="x", next=bad)
        assert sent.headers["location"] == f"/ui/sessions/{session['id']}", bad


async def test_a_stale_link_says_so_before_asking(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, services: Services
) -> None:
    env_id, session = await _running(client)
    sid = session["id"]
    work_id = (await client.get(f"/environments/{env_id}/work")).json()["data"][0]["id"]
    await client.post(f"/environments/{env_id}/work/{work_id}/stop", json={"force": True})
    await client.post(f"/sessions/{sid}/archive")
    await client.post(f"/environments/{env_id}/archive")
    record, _ = await services.tokens.create("old", TokenKind.MEMBER)
    await services.tokens.revoke(record.id)
    for path, text in [
        (f"/ui/environments/{env_id}/work/{work_id}/stop", "has already stopped"),
        (f"/ui/sessions/{sid}/archive", "already archived"),
        (f"/ui/sessions/{sid}/cancel", "not running"),
        (f"/ui/environments/{env_id}/archive", "already archived"),
        (f"/ui/tokens/{record.id}/revoke", "already revoked"),
    ]:
        response = await browser.get(path)
        assert response.status_code == 409, path
        assert text in response.text and 'form id="confirm-form"' not in response.text


async def test_origin_and_session_are_checked_before_anything_is_looked_up(
    services: Services, browser: httpx.AsyncClient
) -> None:
    path = "/ui/sessions/bogus/archive"
    foreign = await browser.post(path, data={}, headers={"origin": "https://evil.example"})
    assert "another site" in _error(foreign, 403)
    async with dashboard(services) as stranger:
        late = await stranger.post(path, data={"confirm": "yes"}, headers={"origin": UI})
        assert late.status_code == 401 and "expired or was ended" in late.text
