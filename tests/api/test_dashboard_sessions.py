"""Dashboard sessions (both backends): the cookie, hashed storage, logout, revocation, expiry,
and the login form's CSRF token and origin check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from tests.api.dashboard_support import UI, csrf_of, dashboard, login, post_form, session_cookie
from tests.conftest import TokenFactory
from workyard.clock import ManualClock
from workyard.config import Settings, load_settings
from workyard.domain.models import TokenKind
from workyard.service.container import Services, build_services
from workyard.service.credentials import hash_secret
from workyard.store import Store

ENDED = "Your dashboard session has expired or was ended"


@pytest.fixture
async def browser(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with dashboard(services) as client:
        yield client


def _session_id(browser: httpx.AsyncClient) -> str:
    value = browser.cookies.get("workyard_session", path="/ui")
    assert value, browser.cookies
    return value


async def _logged_in(browser: httpx.AsyncClient) -> bool:
    response = await browser.get("/ui")
    assert response.status_code in (200, 303)
    return response.status_code == 200


async def test_login_opens_a_session_the_store_knows_only_by_its_hash(
    browser: httpx.AsyncClient, services: Services, wall: ManualClock
) -> None:
    record, token = await services.tokens.create("ops", TokenKind.MEMBER)
    response = await login(browser, token)
    assert response.status_code == 303
    cookie = session_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie
    session_id = _session_id(browser)
    assert token not in cookie and len(session_id) >= 43
    row = await services.store.get_dashboard_session(hash_secret(session_id), wall.now())
    assert row is not None and row.token_id == record.id
    assert await services.store.get_dashboard_session(session_id, wall.now()) is None
    assert row.expires_at == wall.now() + services.settings.ui_session_ttl_seconds * 1_000_000
    assert await _logged_in(browser)


async def test_over_https_the_cookies_are_secure(services: Services, admin_token: str) -> None:
    async with dashboard(services, "https://dash.example") as browser:
        form = await browser.get("/ui/login")
        assert "Secure" in form.headers["set-cookie"]  # the login form's pre-session cookie
        response = await login(browser, admin_token)
        cookie = session_cookie(response)
        assert response.status_code == 303 and cookie is not None and "Secure" in cookie


async def test_each_login_is_its_own_session(services: Services, admin_token: str) -> None:
    async with dashboard(services) as one, dashboard(services) as two:
        await login(one, admin_token)
        await login(two, admin_token)
        assert _session_id(one) != _session_id(two)
        page_of_one = (await one.get("/ui")).text
        forged = await two.post(
            "/ui/environments", data={"csrf": csrf_of(page_of_one), "name": "x"},
            headers={"origin": UI},
        )  # fmt: skip
        assert forged.status_code == 403  # one session's CSRF token is no good in another


async def test_logout_ends_the_session_even_if_the_cookie_is_kept(
    browser: httpx.AsyncClient, services: Services, admin_token: str, wall: ManualClock
) -> None:
    await login(browser, admin_token)
    session_id = _session_id(browser)
    out = await post_form(browser, "/ui/logout")
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert await services.store.get_dashboard_session(hash_secret(session_id), wall.now()) is None
    browser.cookies.set("workyard_session", session_id, path="/ui")  # a copy of the cookie
    assert not await _logged_in(browser)


async def test_a_logout_from_another_site_is_refused(
    browser: httpx.AsyncClient, admin_token: str
) -> None:
    await login(browser, admin_token)
    csrf = csrf_of((await browser.get("/ui")).text)
    out = await browser.post(
        "/ui/logout", data={"csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert out.status_code == 403
    assert await _logged_in(browser)


async def test_revoking_the_token_ends_its_sessions_at_once(
    browser: httpx.AsyncClient, services: Services
) -> None:
    record, token = await services.tokens.create("ops", TokenKind.ADMIN)
    await login(browser, token)
    assert await _logged_in(browser)
    await services.tokens.revoke(record.id)
    response = await browser.get("/ui")
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    form = await browser.get("/ui/login")
    assert ENDED in form.text


async def test_a_session_expires_after_its_lifetime_on_the_wall_clock(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, services: Services, admin_token: str,
    wall: ManualClock, clock: ManualClock,
) -> None:  # fmt: skip
    await login(browser, admin_token)
    csrf = csrf_of((await browser.get("/ui")).text)
    ttl = services.settings.ui_session_ttl_seconds
    clock.advance(ttl * 2)  # the emulator clock has no say
    wall.advance(ttl - 1)
    assert await _logged_in(browser)
    wall.advance(1)
    assert not await _logged_in(browser)
    late = await browser.post(
        "/ui/environments", data={"csrf": csrf, "name": "late"}, headers={"origin": UI}
    )
    assert late.status_code == 401
    assert ENDED in late.text and 'form id="login"' in late.text
    names = [e["name"] for e in (await client.get("/environments")).json()["data"]]
    assert "late" not in names


async def test_the_token_expiring_ends_the_session(
    browser: httpx.AsyncClient, services: Services, wall: ManualClock
) -> None:
    _, token = await services.tokens.create("brief", TokenKind.MEMBER, expires_in_seconds=60)
    await login(browser, token)
    wall.advance(59)
    assert await _logged_in(browser)
    wall.advance(1)
    assert not await _logged_in(browser)


async def test_expired_sessions_are_pruned_at_the_next_login(
    services: Services, admin_token: str, wall: ManualClock
) -> None:
    async with dashboard(services) as old:
        await login(old, admin_token)
        old_hash = hash_secret(_session_id(old))
    wall.advance(services.settings.ui_session_ttl_seconds)
    async with dashboard(services) as new:
        await login(new, admin_token)
    # it would be ignored anyway; it is gone: a lookup at its creation time finds nothing
    assert await services.store.get_dashboard_session(old_hash, 0) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no csrf", "security token"),
        ("wrong csrf", "security token"),
        ("no login cookie", "security token"),
        ("foreign origin", "another site"),
        ("null origin", "another site"),
        ("no origin or referer", "not sent from a page of this dashboard"),
        ("foreign referer", "not sent from a page of this dashboard"),
    ],
)
async def test_a_forged_login_is_refused(
    browser: httpx.AsyncClient, admin_token: str, change: str, message: str
) -> None:
    form = await browser.get("/ui/login")
    data = {"token": admin_token, "csrf": csrf_of(form.text)}
    headers = {"origin": UI}
    if change == "no csrf":
        del data["csrf"]
    elif change == "wrong csrf":
        data["csrf"] = data["csrf"][:-2] + "xx"
    elif change == "no login cookie":
        browser.cookies.clear()
    elif change == "foreign origin":
        headers = {"origin": "http://testserver.evil.example"}
    elif change == "null origin":
        headers = {"origin": "null"}
    elif change == "no origin or referer":
        headers = {}
    else:
        headers = {"referer": "https://evil.example/ui/login"}
    response = await browser.post("/ui/login", data=data, headers=headers)
    assert response.status_code == 403
    assert message in response.text and 'class="error"' in response.text
    assert session_cookie(response) is None
    assert not await _logged_in(browser)


async def test_a_same_origin_referer_stands_in_for_a_missing_origin(
    browser: httpx.AsyncClient, admin_token: str
) -> None:
    form = await browser.get("/ui/login")
    data = {"token": admin_token, "csrf": csrf_of(form.text)}
    response = await browser.post("/ui/login", data=data, headers={"referer": f"{UI}/ui/login"})
    assert response.status_code == 303
    assert await _logged_in(browser)


async def test_an_item_credential_cannot_log_in(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    env = (await client.post("/environments", json={"name": "e", "config": {
        "type": "self_hosted"}})).json()  # fmt: skip
    await client.post("/sessions", json={"environment_id": env["id"]})
    item = (await client.get(f"/environments/{env['id']}/work/poll")).json()
    acked = (await client.post(f"/environments/{env['id']}/work/{item['id']}/ack")).json()
    response = await login(browser, acked["secret"])
    assert response.status_code in (401, 403)
    assert session_cookie(response) is None


# two replicas on one PostgreSQL database ----------------------------------------------------
async def test_revocation_on_another_replica_ends_the_session(replicas: list[Services]) -> None:
    a, b = replicas
    record, token = await a.tokens.create("ops", TokenKind.MEMBER)
    async with dashboard(a) as browser:
        await login(browser, token)
        assert await _logged_in(browser)
        await b.tokens.revoke(record.id)
        assert not await _logged_in(browser)


def test_the_session_lifetime_is_a_positive_setting() -> None:
    assert load_settings({"WORKYARD_UI_SESSION_TTL_SECONDS": "900"}).ui_session_ttl_seconds == 900
    for bad in ("0", "-5", "soon"):
        with pytest.raises(ValueError, match="WORKYARD_UI_SESSION_TTL_SECONDS"):
            load_settings({"WORKYARD_UI_SESSION_TTL_SECONDS": bad})


async def test_the_lifetime_setting_is_honoured(
    settings: Settings, clock: ManualClock, wall: ManualClock, store: Store | None
) -> None:
    svc = build_services(replace(settings, ui_session_ttl_seconds=600), clock=clock, wall=wall,
                         store=store)  # fmt: skip
    await svc.start()
    try:
        _, token = await svc.tokens.create("ops", TokenKind.MEMBER)
        async with dashboard(svc) as browser:
            await login(browser, token)
            wall.advance(599)
            assert await _logged_in(browser)
            wall.advance(1)
            assert not await _logged_in(browser)
    finally:
        await svc.stop()


async def test_a_flash_message_is_shown_only_to_the_session_that_earned_it(
    services: Services, admin_token: str
) -> None:
    async with dashboard(services) as one, dashboard(services) as two:
        await login(one, admin_token)
        await login(two, admin_token)
        done = await post_form(one, "/ui/environments", name="lab", type="cloud")
        flash = one.cookies.get("workyard_flash", path="/ui")
        assert done.status_code == 303 and flash
        two.cookies.set("workyard_flash", flash, path="/ui")  # someone else's (or forged)
        assert 'id="flash"' not in (await two.get("/ui")).text
        two.cookies.set("workyard_flash", "InRoZSBwcmludGVyIGlzIG9uIGZpcmUi.0", path="/ui")
        assert 'id="flash"' not in (await two.get("/ui")).text
        assert "Environment “lab” created." in (await one.get(done.headers["location"])).text


async def test_the_action_styles_are_served(browser: httpx.AsyncClient) -> None:
    css = await browser.get("/ui/static/actions.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "#flash" in css.text or ".flash" in css.text
