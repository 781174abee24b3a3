"""Authentication (401) and authorization by token kind (403), spec/conventions.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory, assert_error, create_environment, create_session
from workyard.clock import ManualClock
from workyard.domain.models import TokenKind
from workyard.service.container import Services

ClientFor = Callable[[str | None], httpx.AsyncClient]
MESSAGE = "Invalid API key or token."
SOME_ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"
UNKNOWN_TOKEN = "pt-" + "A" * 43
ROUTES = [
    ("GET", "/environments"),
    ("POST", "/environments"),
    ("GET", f"/environments/{SOME_ENV}"),
    ("DELETE", f"/environments/{SOME_ENV}"),
    ("GET", "/sessions"),
    ("GET", f"/environments/{SOME_ENV}/work/stats"),
]


def assert_unauthenticated(response: httpx.Response) -> None:
    envelope = assert_error(response, 401, "authentication_error")
    assert envelope["error"]["message"] == MESSAGE


async def _call(client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    body: dict[str, Any] | None = {"name": "x"} if method == "POST" else None
    return await client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_missing_authorization_is_401(client_for: ClientFor, method: str, path: str) -> None:
    async with client_for(None) as anonymous:
        assert_unauthenticated(await _call(anonymous, method, path))


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Bearer pt-short",
        "Bearer pt-" + "!" * 40,
        f"Bearer {UNKNOWN_TOKEN}",
        f"Bearer {UNKNOWN_TOKEN} extra",
        "Basic dXNlcjpwYXNzd29yZA==",
    ],
)
async def test_malformed_or_unknown_tokens_are_401(client_for: ClientFor, header: str) -> None:
    async with client_for(None) as anonymous:
        for method, path in ROUTES:
            response = await anonymous.request(method, path, headers={"authorization": header})
            assert_unauthenticated(response)


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer:", "PAT"])
async def test_a_valid_token_under_another_scheme_is_401(
    client_for: ClientFor, admin_token: str, scheme: str
) -> None:
    async with client_for(None) as anonymous:
        response = await anonymous.get(
            "/environments", headers={"authorization": f"{scheme} {admin_token}"}
        )
        assert_unauthenticated(response)
        ok = await anonymous.get(
            "/environments", headers={"authorization": f"Bearer {admin_token}"}
        )
        assert ok.status_code == 200


async def test_x_api_key_is_never_accepted(client_for: ClientFor, admin_token: str) -> None:
    async with client_for(None) as anonymous:
        assert_unauthenticated(
            await anonymous.get("/environments", headers={"x-api-key": admin_token})
        )


async def test_revoked_token_is_401(services: Services, client_for: ClientFor) -> None:
    record, clear = await services.tokens.create("to revoke", TokenKind.MEMBER)
    async with client_for(clear) as member:
        assert (await member.get("/environments")).status_code == 200
        await services.tokens.revoke(record.id)
        assert_unauthenticated(await member.get("/environments"))
        assert_unauthenticated(await member.post("/environments", json={"name": "x"}))


async def test_expired_token_is_401(
    services: Services, wall: ManualClock, client_for: ClientFor
) -> None:
    _, clear = await services.tokens.create("short", TokenKind.ADMIN, expires_in_seconds=60)
    async with client_for(clear) as admin:
        assert (await admin.get("/environments")).status_code == 200
        wall.advance(59.999999)  # token expiry follows real time (the wall clock)
        assert (await admin.get("/environments")).status_code == 200
        wall.advance(0.000001)
        assert_unauthenticated(await admin.get("/environments"))


# --- member ------------------------------------------------------------------------------------


async def test_member_can_do_everything_but_delete_environments(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory
) -> None:
    async with client_for(await make_token("member")) as member:
        env = await create_environment(member, name="by member")
        env_id = env["id"]
        assert (await member.get("/environments")).json()["data"][0]["id"] == env_id
        assert (await member.get(f"/environments/{env_id}")).status_code == 200
        updated = await member.post(f"/environments/{env_id}", json={"description": "d"})
        assert updated.status_code == 200
        session = await create_session(member, env_id)
        assert (await member.get(f"/sessions/{session['id']}")).status_code == 200
        assert (await member.get(f"/environments/{env_id}/work/stats")).status_code == 200
        other = await create_environment(member, name="to delete")
        archived = await member.post(f"/environments/{other['id']}/archive")
        assert archived.status_code == 200

        denied = await member.delete(f"/environments/{other['id']}")
        assert_error(denied, 403, "permission_error")
        assert (await member.get(f"/environments/{other['id']}")).json() == archived.json()

    deleted = await client.delete(f"/environments/{other['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": other["id"], "type": "environment_deleted"}


# --- worker ------------------------------------------------------------------------------------


async def test_worker_may_not_manage_environments(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory
) -> None:
    env = await create_environment(client)
    path = f"/environments/{env['id']}"
    async with client_for(await make_token("worker")) as worker:
        assert_error(
            await worker.post("/environments", json={"name": "w"}), 403, "permission_error"
        )
        assert_error(await worker.get("/environments"), 403, "permission_error")
        assert_error(await worker.get(path), 403, "permission_error")
        assert_error(await worker.post(path, json={"name": "w"}), 403, "permission_error")
        assert_error(await worker.post(f"{path}/archive"), 403, "permission_error")
        assert_error(await worker.delete(path), 403, "permission_error")
        assert (await worker.get(f"{path}/work/stats")).status_code == 200

    assert (await client.get(path)).json() == env
    listed = (await client.get("/environments")).json()["data"]
    assert [e["id"] for e in listed] == [env["id"]]


async def test_restricted_worker_is_confined_to_its_environments(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory
) -> None:
    env_a = (await create_environment(client, name="A"))["id"]
    env_b = (await create_environment(client, name="B"))["id"]
    async with client_for(await make_token("worker", (env_a,))) as worker:
        assert (await worker.get(f"/environments/{env_a}/work/stats")).status_code == 200
        assert (await worker.get(f"/environments/{env_a}/work")).status_code == 200
        for suffix in ("/work/stats", "/work", "/work/poll"):
            response = await worker.get(f"/environments/{env_b}{suffix}")
            assert_error(response, 403, "permission_error")


async def test_unrestricted_worker_reaches_every_environment(
    client: httpx.AsyncClient, client_for: ClientFor, make_token: TokenFactory
) -> None:
    env_ids = [(await create_environment(client, name=n))["id"] for n in ("A", "B")]
    async with client_for(await make_token("worker")) as worker:
        for env_id in env_ids:
            stats = await worker.get(f"/environments/{env_id}/work/stats")
            assert stats.status_code == 200
            assert stats.json()["type"] == "work_queue_stats"
