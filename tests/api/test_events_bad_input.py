"""spec/sessions.md "Events": rejected input, forbidden senders and unknown sessions.

Every rejected send appends nothing (a batch is all or nothing) and requeues nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.events_support import (
    drive_work,
    list_all,
    message,
    new_session,
    post_events,
    send,
    work_items,
)
from tests.conftest import TokenFactory, assert_error, create_environment
from workyard.domain.limits import MAX_EVENT_BYTES
from workyard.ids import new_id

ClientFor = Callable[[str | None], httpx.AsyncClient]
GOOD = message("fine")
BIG = "x" * MAX_EVENT_BYTES  # with its envelope, one event over the limit


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "events"),
        ({"events": None}, "events"),
        ({"events": "user.message"}, "events"),
        ({"events": {"type": "user.message", "content": "x"}}, "events"),
        ({"events": []}, "events"),
        ({"events": [GOOD] * 101}, "events"),
        ({"events": [GOOD, GOOD, {"type": "agent.thinking", "content": "x"}]}, "events[2].type"),
        ({"events": [GOOD, {"content": "no type"}]}, "events[1].type"),
        ({"events": [{"type": "USER.MESSAGE", "content": "x"}]}, "events[0].type"),
        ({"events": [{"type": 5}]}, "events[0].type"),
        ({"events": [{"type": {}}]}, "events[0].type"),
        ({"events": [{"type": ["user.message"]}]}, "events[0].type"),
        ({"events": [GOOD, "user.message"]}, "events[1]"),
        ({"events": [None]}, "events[0]"),
        ({"events": [GOOD, message(BIG)]}, "events[1]"),
        ({"events": [message(BIG[:-100], "agent.message"), GOOD, message(BIG)]}, "events[2]"),
        ({"events": [message("")]}, "events[0].content"),
        ({"events": [{"type": "user.message"}]}, "events[0].content"),
        ({"events": [{"type": "user.message", "content": []}]}, "events[0].content"),
        ({"events": [{"type": "user.message", "content": 5}]}, "events[0].content"),
        ({"events": [{"type": "user.message", "content": ["hi"]}]}, "events[0].content[0]"),
        (
            {"events": [GOOD, {"type": "agent.message", "content": [{"text": "no type"}]}]},
            "events[1].content[0]",
        ),
        (
            {"events": [{"type": "system.message", "content": [{"type": "text", "text": 1}]}]},
            "events[0].content[0].text",
        ),
        ({"events": [{"type": "agent.tool_use"}]}, "events[0].name"),
        ({"events": [{"type": "agent.tool_use", "name": ""}]}, "events[0].name"),
        ({"events": [{"type": "agent.tool_result"}]}, "events[0].tool_use_id"),
        (
            {"events": [{"type": "agent.tool_result", "tool_use_id": "t", "is_error": "yes"}]},
            "events[0].is_error",
        ),
        (
            {"events": [{"type": "agent.tool_result", "tool_use_id": "t", "is_error": 1}]},
            "events[0].is_error",
        ),
        (
            {"events": [{"type": "agent.tool_result", "tool_use_id": "t", "content": 3}]},
            "events[0].content",
        ),
        ({"events": [{"type": "session.error"}]}, "events[0].error"),
        ({"events": [{"type": "session.error", "error": "boom"}]}, "events[0].error"),
        ({"events": [{"type": "session.error", "error": {"message": 1}}]}, "events[0].error"),
    ],
)
async def test_invalid_events_are_rejected_and_nothing_is_appended(
    client: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    session = await new_session(client)
    await drive_work(client, session, "stopped")  # a user.message would requeue
    response = await client.post(f"/sessions/{session['id']}/events", json=body)
    assert_error(response, 400, "invalid_request_error", param)
    assert await list_all(client, session["id"]) == []
    assert len(await work_items(client, session["environment_id"])) == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b'"events"', b'{"events": [NaN]}'],
    ids=["empty", "garbage", "array", "string", "nan"],
)
async def test_body_must_be_a_json_object(client: httpx.AsyncClient, content: bytes) -> None:
    session = await new_session(client)
    response = await client.post(f"/sessions/{session['id']}/events", content=content)
    assert_error(response, 400, "invalid_request_error")
    assert await list_all(client, session["id"]) == []


# who may send --------------------------------------------------------------------------------


async def test_worker_tokens_send_worker_types_only(
    client: httpx.AsyncClient, make_token: TokenFactory, client_for: ClientFor
) -> None:
    session = await new_session(client)
    env_id = session["environment_id"]
    await drive_work(client, session, "stopped")
    worker_events = [
        message("a", "agent.message"),
        {"type": "agent.tool_use", "name": "bash", "input": {}},
        {"type": "agent.tool_result", "tool_use_id": "t"},
        {"type": "session.error", "error": {"message": "x"}},
        message("s", "system.message"),
    ]
    for token in (await make_token("worker"), await make_token("worker", (env_id,))):
        async with client_for(token) as worker:
            created = await send(worker, session["id"], *worker_events)
            assert [e["type"] for e in created] == [e["type"] for e in worker_events]
            for refused in (
                [message("hi")],
                [{"type": "user.interrupt"}],
                [message("a", "agent.message"), message("sneaky")],
            ):
                response = await post_events(worker, session["id"], *refused)
                assert_error(response, 403, "permission_error")
            cancel = await worker.post(f"/sessions/{session['id']}/cancel")
            assert_error(cancel, 403, "permission_error")
            listed = await worker.get(f"/sessions/{session['id']}/events")
            assert listed.status_code == 200
    types = [e["type"] for e in await list_all(client, session["id"])]
    assert types == [e["type"] for e in worker_events] * 2
    assert len(await work_items(client, env_id)) == 1  # refused user messages did not requeue


async def test_member_tokens_send_anything(
    client: httpx.AsyncClient, make_token: TokenFactory, client_for: ClientFor
) -> None:
    session = await new_session(client)
    async with client_for(await make_token("member")) as member:
        created = await send(member, session["id"], message("u"), message("a", "agent.message"))
        assert [e["type"] for e in created] == ["user.message", "agent.message"]
        response = await member.post(f"/sessions/{session['id']}/cancel")
        assert response.status_code == 200


async def test_worker_token_of_another_environment_is_refused(
    client: httpx.AsyncClient, make_token: TokenFactory, client_for: ClientFor
) -> None:
    session = await new_session(client)
    other = (await create_environment(client))["id"]
    async with client_for(await make_token("worker", (other,))) as worker:
        response = await post_events(worker, session["id"], message("a", "agent.message"))
        assert_error(response, 403, "permission_error")
        assert_error(await worker.get(f"/sessions/{session['id']}/events"), 403, "permission_error")
        stream = await worker.get(f"/sessions/{session['id']}/events/stream")
        assert_error(stream, 403, "permission_error")
    assert await list_all(client, session["id"]) == []


async def test_requests_without_a_valid_token_are_refused(
    client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    session = await new_session(client)
    for token in (None, "pt-" + "x" * 40):
        async with client_for(token) as anonymous:
            sid = session["id"]
            assert_error(await post_events(anonymous, sid, GOOD), 401, "authentication_error")
            assert_error(
                await anonymous.get(f"/sessions/{sid}/events"), 401, "authentication_error"
            )
            assert_error(
                await anonymous.post(f"/sessions/{sid}/cancel"), 401, "authentication_error"
            )
            stream = await anonymous.get(f"/sessions/{sid}/events/stream")
            assert_error(stream, 401, "authentication_error")
    assert await list_all(client, session["id"]) == []


# unknown and deleted sessions ----------------------------------------------------------------


@pytest.mark.parametrize("which", ["unknown", "malformed", "wrong-prefix", "deleted"])
async def test_unknown_or_deleted_session_is_404(client: httpx.AsyncClient, which: str) -> None:
    session = await new_session(client)
    await send(client, session["id"], GOOD)
    sid = {
        "unknown": new_id("sess"),
        "malformed": "sess_123",
        "wrong-prefix": new_id("evt"),
        "deleted": session["id"],
    }[which]
    if which == "deleted":
        assert (await client.delete(f"/sessions/{sid}")).status_code == 200
    assert_error(await post_events(client, sid, GOOD), 404, "not_found_error")
    assert_error(await client.get(f"/sessions/{sid}/events"), 404, "not_found_error")
    assert_error(await client.get(f"/sessions/{sid}/events/stream"), 404, "not_found_error")
    assert_error(await client.post(f"/sessions/{sid}/cancel"), 404, "not_found_error")


# list parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ([("types[]", "user.message"), ("types[]", "agent.thinking")], "types[]"),
        ([("types[]", "")], "types[]"),
        ([("order", "sideways")], "order"),
        ([("limit", "0")], "limit"),
        ([("limit", "-1")], "limit"),
        ([("limit", "ten")], "limit"),
        ([("after_id", "sess_" + "0" * 32)], "after_id"),
        ([("after_id", "evt_1")], "after_id"),
        ([("before_id", "work_" + "0" * 32)], "before_id"),
        ([("page", "not-a-cursor")], "page"),
        ([("created_at[gt]", "yesterday")], "created_at[gt]"),
        ([("created_at[lte]", "2026-07-01")], "created_at[lte]"),
    ],
)
async def test_list_rejects_invalid_parameters(
    client: httpx.AsyncClient, params: list[tuple[str, str | int | float | bool | None]], param: str
) -> None:
    session = await new_session(client)
    await send(client, session["id"], GOOD)
    response = await client.get(f"/sessions/{session['id']}/events", params=params)
    assert_error(response, 400, "invalid_request_error", param)


async def test_list_cursors_are_mutually_exclusive(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    ids = [e["id"] for e in await send(client, session["id"], GOOD, GOOD)]
    response = await client.get(
        f"/sessions/{session['id']}/events", params={"after_id": ids[0], "before_id": ids[1]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("value", ["evt_1", "sess_" + "0" * 32, "evt_" + "G" * 32, "garbage"])
async def test_stream_rejects_a_malformed_last_event_id(
    client: httpx.AsyncClient, value: str
) -> None:
    session = await new_session(client)
    response = await client.get(
        f"/sessions/{session['id']}/events/stream", headers={"last-event-id": value}
    )
    assert_error(response, 400, "invalid_request_error", "Last-Event-ID")


# initial_events -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "param"),
    [
        ([message("a", "agent.message")], "initial_events[0].type"),
        ([GOOD, {"type": "session.error", "error": {"message": "x"}}], "initial_events[1].type"),
        ([GOOD, message("s", "system.message")], "initial_events[1].type"),
        ([GOOD, {"type": "bogus"}], "initial_events[1].type"),
        ([], "initial_events"),
        ([GOOD] * 101, "initial_events"),
        ("hello", "initial_events"),
        ([message("")], "initial_events[0].content"),
        ([GOOD, message(BIG)], "initial_events[1]"),
    ],
)
async def test_initial_events_are_validated_and_nothing_is_created(
    client: httpx.AsyncClient, initial: Any, param: str
) -> None:
    env_id = (await create_environment(client))["id"]
    response = await client.post(
        "/sessions", json={"environment_id": env_id, "initial_events": initial}
    )
    assert_error(response, 400, "invalid_request_error", param)
    listed = await client.get("/sessions", params={"include_archived": "true"})
    assert listed.json()["data"] == []
    assert await work_items(client, env_id) == []
