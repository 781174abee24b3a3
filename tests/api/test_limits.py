"""domain/limits.py: every free-size field accepts its limit and rejects one more (400, param).

A rejected request stores nothing; error messages quote at most ~100 characters of the input.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.events_support import list_all, message, new_session
from tests.api.test_work_table import work_path
from tests.conftest import assert_error, create_environment
from workyard.domain import limits as lim
from workyard.ids import new_id


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def sized_event(size: int, kind: str = "user.message") -> dict[str, Any]:
    """A text event whose compact JSON is exactly ``size`` bytes."""
    return message("x" * (size - _size(message("", kind))), kind)


def sized_agent(size: int) -> dict[str, Any]:
    pad = size - _size({"type": "agent", "system": ""})
    return {"type": "agent", "system": "é" * (pad // 2) + "x" * (pad % 2)}


async def _sessions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await client.get("/sessions")).json()["data"]
    return data


SESSION_CASES = [
    ("agent", "a" * lim.MAX_AGENT_ID_LENGTH, "a" * (lim.MAX_AGENT_ID_LENGTH + 1)),
    ("agent", sized_agent(lim.MAX_AGENT_BYTES), sized_agent(lim.MAX_AGENT_BYTES + 1)),
    ("title", "t" * lim.MAX_TITLE_LENGTH, "t" * (lim.MAX_TITLE_LENGTH + 1)),
]


@pytest.mark.parametrize(("field", "at_limit", "over"), SESSION_CASES)
async def test_session_fields(
    client: httpx.AsyncClient, field: str, at_limit: Any, over: Any
) -> None:
    env = await create_environment(client)
    rejected = await client.post("/sessions", json={"environment_id": env["id"], field: over})
    assert_error(rejected, 400, "invalid_request_error", field)
    assert await _sessions(client) == []
    accepted = await client.post("/sessions", json={"environment_id": env["id"], field: at_limit})
    assert accepted.status_code == 201, accepted.text[:300]
    assert accepted.json()[field] == at_limit
    assert [s[field] for s in await _sessions(client)] == [at_limit]


async def test_session_title_update(client: httpx.AsyncClient) -> None:
    session = await new_session(client, title="before")
    path = f"/sessions/{session['id']}"
    over = {"title": "t" * (lim.MAX_TITLE_LENGTH + 1)}
    assert_error(await client.post(path, json=over), 400, "invalid_request_error", "title")
    assert (await client.get(path)).json()["title"] == "before"
    at_limit = "t" * lim.MAX_TITLE_LENGTH
    assert (await client.post(path, json={"title": at_limit})).json()["title"] == at_limit


def _hosts(n: int, length: int = 10) -> dict[str, Any]:
    hosts = [f"{i:0{length}d}" for i in range(n)]
    return {"type": "cloud", "networking": {"type": "allowed_hosts", "allowed_hosts": hosts}}


def _pip(n: int, length: int = 10) -> dict[str, Any]:
    return {"type": "cloud", "packages": {"pip": [f"{i:0{length}d}" for i in range(n)]}}


def _script(text: str) -> dict[str, Any]:
    return {"type": "cloud", "setup_script": text}


HOSTS = "config.networking.allowed_hosts"
ENV_CASES = [
    ("name", "n" * lim.MAX_NAME_LENGTH, "n" * (lim.MAX_NAME_LENGTH + 1), "name"),
    (
        "description",
        "d" * lim.MAX_DESCRIPTION_LENGTH,
        "d" * (lim.MAX_DESCRIPTION_LENGTH + 1),
        "description",
    ),
    ("config", _hosts(lim.MAX_HOSTS), _hosts(lim.MAX_HOSTS + 1), HOSTS),
    ("config", _hosts(1, lim.MAX_HOST_LENGTH), _hosts(1, lim.MAX_HOST_LENGTH + 1), f"{HOSTS}[0]"),
    ("config", _pip(lim.MAX_PACKAGES), _pip(lim.MAX_PACKAGES + 1), "config.packages.pip"),
    (
        "config",
        _pip(1, lim.MAX_PACKAGE_LENGTH),
        _pip(1, lim.MAX_PACKAGE_LENGTH + 1),
        "config.packages.pip[0]",
    ),
    (
        "config",
        _script("s" * lim.MAX_SETUP_SCRIPT_BYTES),
        _script("s" * (lim.MAX_SETUP_SCRIPT_BYTES + 1)),
        "config.setup_script",
    ),
    (  # bytes, not characters: two-byte characters reach the limit at half the length
        "config",
        _script("é" * (lim.MAX_SETUP_SCRIPT_BYTES // 2)),
        _script("é" * (lim.MAX_SETUP_SCRIPT_BYTES // 2) + "s"),
        "config.setup_script",
    ),
]


@pytest.mark.parametrize(("field", "at_limit", "over", "param"), ENV_CASES)
async def test_environment_fields(
    client: httpx.AsyncClient, field: str, at_limit: Any, over: Any, param: str
) -> None:
    body = {"name": "env", "config": {"type": "self_hosted"}}
    rejected = await client.post("/environments", json={**body, field: over})
    assert_error(rejected, 400, "invalid_request_error", param)
    assert (await client.get("/environments")).json()["data"] == []
    created = await client.post("/environments", json={**body, field: at_limit})
    assert created.status_code == 201, created.text[:300]
    env = created.json()
    assert env[field] == at_limit
    # the same limits on update, which then changes nothing
    updated = await client.post(f"/environments/{env['id']}", json={field: over})
    assert_error(updated, 400, "invalid_request_error", param)
    assert (await client.get(f"/environments/{env['id']}")).json() == env


async def test_one_event_at_and_over_the_limit(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    path = f"/sessions/{session['id']}/events"
    over = sized_event(lim.MAX_EVENT_BYTES + 1)
    rejected = await client.post(path, json={"events": [message("ok"), over]})
    assert_error(rejected, 400, "invalid_request_error", "events[1]")
    assert await list_all(client, session["id"]) == []
    at_limit = sized_event(lim.MAX_EVENT_BYTES)
    accepted = await client.post(path, json={"events": [at_limit]})
    assert accepted.status_code == 200, accepted.text[:300]
    stored = await list_all(client, session["id"])
    assert [e["content"][0]["text"] for e in stored] == [at_limit["content"]]


async def test_mebibyte_texts_fit_in_one_event(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    for text in ("x" * 2**20, "😀" * (2**20 // 4), "é" * (2**20 // 2)):  # 1 MiB of UTF-8 each
        event = message(text, "agent.message")
        response = await client.post(f"/sessions/{session['id']}/events", json={"events": [event]})
        assert response.status_code == 200, response.text[:300]
        assert response.json()["data"][0]["content"][0]["text"] == text


async def test_events_of_one_request_together(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    path = f"/sessions/{session['id']}/events"
    count = lim.MAX_EVENTS_REQUEST_BYTES // lim.MAX_EVENT_BYTES
    full = [sized_event(lim.MAX_EVENT_BYTES)] * count
    rejected = await client.post(path, json={"events": [*full, message("one more")]})
    assert_error(rejected, 400, "invalid_request_error", "events")
    assert await list_all(client, session["id"]) == []
    accepted = await client.post(path, json={"events": full})
    assert accepted.status_code == 200, accepted.text[:300]
    assert len(accepted.json()["data"]) == count


async def test_initial_events_share_the_event_limits(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    body = {"environment_id": env["id"], "initial_events": [sized_event(lim.MAX_EVENT_BYTES + 1)]}
    rejected = await client.post("/sessions", json=body)
    assert_error(rejected, 400, "invalid_request_error", "initial_events[0]")
    assert await _sessions(client) == []


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/environments", {"name": "n", "metadata": {"k" * 20_000_000: 5}}, "metadata"),
        ("/environments", {"name": "n", "metadata": {"k" * 20_000_000: "v"}}, "metadata"),
        ("/environments", {"name": "n", "metadata": {"k": "v" * 20_000_000}}, "metadata"),
        ("/environments", {"name": "n" * 20_000_000}, "name"),
        ("/environments", {"name": "n", "config": _hosts(1_000_000, 1)}, HOSTS),
        ("/sessions", {"environment_id": "env_" + "0" * 20_000_000}, "environment_id"),
        ("/sessions", {"environment_id": "e", "agent": "a" * 20_000_000}, "agent"),
        ("/sessions", {"environment_id": "e", "agent": {"a": ["x"] * 1_000_000}}, "agent"),
    ],
)
async def test_huge_input_is_rejected_and_not_echoed(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], param: str
) -> None:
    response = await client.post(path, json=body)
    status = 404 if param == "environment_id" else 400
    error = assert_error(
        response, status, "not_found_error" if status == 404 else "invalid_request_error", param
    )["error"]
    assert len(error["message"]) < 300, error["message"][:300]
    assert (await client.get("/environments")).json()["data"] == []


def test_quote_cuts_long_input() -> None:
    assert lim.quote("abc") == "'abc'"
    assert lim.quote("x" * 500) == repr("x" * lim.QUOTE_LENGTH) + "…"
    assert lim.clip("y" * 500) == "y" * lim.QUOTE_LENGTH + "…"


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        -12,
        2.5,
        "",
        'a"b\\c\n\u2028é😀\x01',
        [],
        {},
        {"a": [1, None, {"b": "c"}], "": False},
        [[[]], {}, ""],
    ],
)
def test_json_size_is_exact(value: Any) -> None:
    size = _size(value)
    assert lim.json_size_within(value, size) == size
    assert lim.json_size_within(value, size - 1) is None


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@given(_JSON)
def test_json_size_matches_json_dumps(value: Any) -> None:
    size = _size(value)
    assert lim.json_size_within(value, size) == size
    assert lim.json_size_within(value, size - 1) is None


# spec/work.md §3: parameter validation (400) comes before item existence (404) ------------------


async def test_work_metadata_is_validated_before_the_item_is_looked_up(
    client: httpx.AsyncClient,
) -> None:
    env = await create_environment(client)
    unknown = work_path(env["id"], new_id("work"))
    for patch in ({"a": 1}, {"a": True}, {"a": ["x"]}, {"k" * 65: "v"}, {"k": "v" * 513}, "x"):
        response = await client.post(unknown, json={"metadata": patch})
        assert_error(response, 400, "invalid_request_error", "metadata")
    response = await client.post(unknown, json={"metadata": {"a": "b", "gone": None}})
    assert_error(response, 404, "not_found_error")


@pytest.mark.parametrize("kind", ["environments", "sessions"])
async def test_metadata_patches_are_validated_before_the_record_is_looked_up(
    client: httpx.AsyncClient, kind: str
) -> None:
    unknown = f"/{kind}/{new_id('env' if kind == 'environments' else 'sess')}"
    response = await client.post(unknown, json={"metadata": {"a": 1}})
    assert_error(response, 400, "invalid_request_error", "metadata")
    assert_error(await client.post(unknown, json={"metadata": {"a": "b"}}), 404, "not_found_error")
