"""spec/sessions.md "Events", Rules: requeue on a user message, cancel, delete, initial events,
and ordering under concurrent senders."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest

from tests.api.events_support import (
    drive_work,
    get_json,
    list_all,
    message,
    new_session,
    post_events,
    send,
    work_items,
)
from tests.api.test_work_table import work_path
from tests.conftest import assert_error, create_environment, create_session
from workyard.clock import ManualClock, format_ts
from workyard.domain.pagination import PageRequest
from workyard.service.container import Services
from workyard.store import EventFilter

LIVE = ["queued", "starting", "active", "stopping"]


async def session_now(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    return await get_json(client, f"/sessions/{session_id}")


async def item(client: httpx.AsyncClient, env_id: str, work_id: str) -> dict[str, Any]:
    return await get_json(client, work_path(env_id, work_id))


# a user message to a session whose work has stopped ------------------------------------------


async def test_user_message_to_a_stopped_session_requeues_it(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    session = await new_session(client, metadata={"repo": "a/b", "gone": "x"})
    env_id, old_work = session["environment_id"], session["work_id"]
    await drive_work(client, session, "stopped")
    # The session's metadata changes after its first item was made; the new item copies it now.
    patch = {"metadata": {"gone": None, "branch": "main"}}
    assert (await client.post(f"/sessions/{session['id']}", json=patch)).status_code == 200
    assert (await session_now(client, session["id"]))["status"] == "idle"
    old_before = await item(client, env_id, old_work)
    clock.advance(7)
    created = await send(client, session["id"], message("and now this"))
    assert [e["type"] for e in created] == ["user.message"]
    after = await session_now(client, session["id"])
    assert after["status"] == "rescheduling"
    assert after["work_id"] != old_work and after["work_id"].startswith("work_")
    new = await item(client, env_id, after["work_id"])
    assert new["state"] == "queued"
    assert new["data"] == {"type": "session", "id": session["id"]}
    assert new["metadata"] == {"repo": "a/b", "branch": "main"}
    assert new["created_at"] == format_ts(clock.now())
    assert await item(client, env_id, old_work) == old_before
    assert [w["id"] for w in await work_items(client, env_id)] in (
        [old_work, new["id"]],
        [new["id"], old_work],
    )
    polled = await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": "w"})
    assert polled.json()["id"] == new["id"]  # the queue delivers it
    # A second message while the new item is live only appends.
    await send(client, session["id"], message("more"))
    assert (await session_now(client, session["id"]))["work_id"] == new["id"]
    assert len(await work_items(client, env_id)) == 2


@pytest.mark.parametrize(
    "events",
    [
        [{"type": "user.interrupt"}],
        [message("done", "agent.message")],
        [{"type": "session.error", "error": {"message": "x"}}, message("s", "system.message")],
    ],
    ids=["interrupt", "agent", "worker-types"],
)
async def test_other_events_to_a_stopped_session_do_not_requeue(
    client: httpx.AsyncClient, events: list[dict[str, Any]]
) -> None:
    session = await new_session(client)
    await drive_work(client, session, "stopped")
    await send(client, session["id"], *events)
    after = await session_now(client, session["id"])
    assert (after["status"], after["work_id"]) == ("idle", session["work_id"])
    assert len(await work_items(client, session["environment_id"])) == 1


async def test_a_batch_holding_a_user_message_requeues_once(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    await drive_work(client, session, "stopped")
    batch = [message("a", "agent.message"), message("1"), {"type": "user.interrupt"}, message("2")]
    created = await send(client, session["id"], *batch)
    assert [e["type"] for e in created] == [e["type"] for e in batch]
    items = await work_items(client, session["environment_id"])
    assert sorted(w["state"] for w in items) == ["queued", "stopped"]


@pytest.mark.parametrize("state", LIVE)
async def test_user_message_to_a_live_session_only_appends(
    client: httpx.AsyncClient, state: str
) -> None:
    session = await new_session(client)
    await drive_work(client, session, state)
    before = await item(client, session["environment_id"], session["work_id"])
    status = (await session_now(client, session["id"]))["status"]
    created = await send(client, session["id"], message("ping"))
    assert await list_all(client, session["id"]) == created
    after = await session_now(client, session["id"])
    assert (after["work_id"], after["status"]) == (session["work_id"], status)
    assert await work_items(client, session["environment_id"]) == [before]


async def test_concurrent_user_messages_to_a_stopped_session_make_one_item(
    client: httpx.AsyncClient,
) -> None:
    session = await new_session(client)
    await drive_work(client, session, "stopped")
    responses = await asyncio.gather(
        *(post_events(client, session["id"], message(f"m{n}")) for n in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    items = await work_items(client, session["environment_id"])
    assert sorted(w["state"] for w in items) == ["queued", "stopped"], items
    queued = next(w for w in items if w["state"] == "queued")
    assert (await session_now(client, session["id"]))["work_id"] == queued["id"]
    assert len(await list_all(client, session["id"])) == 10


async def test_archived_idle_session_refuses_a_user_message(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    assert (await client.post(f"/sessions/{session['id']}/archive")).status_code == 200
    assert (await session_now(client, session["id"]))["status"] == "idle"
    response = await post_events(client, session["id"], message("a"), message("b"))
    assert_error(response, 400, "invalid_request_error", "session_id")
    assert await list_all(client, session["id"]) == []
    assert [w["state"] for w in await work_items(client, session["environment_id"])] == ["stopped"]
    # Events that would not requeue are still accepted (a worker reporting late).
    await send(client, session["id"], message("late", "agent.message"))
    assert len(await list_all(client, session["id"])) == 1


async def test_archived_session_with_live_work_takes_a_user_message(
    client: httpx.AsyncClient,
) -> None:
    session = await new_session(client)
    await drive_work(client, session, "active")
    assert (await client.post(f"/sessions/{session['id']}/archive")).status_code == 200
    created = await send(client, session["id"], message("before you go"))
    assert await list_all(client, session["id"]) == created
    assert len(await work_items(client, session["environment_id"])) == 1


# cancel --------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["starting", "active", "stopping"])
async def test_cancel_a_running_session_appends_an_interrupt(
    client: httpx.AsyncClient, clock: ManualClock, state: str
) -> None:
    session = await new_session(client)
    await drive_work(client, session, state)
    earlier = await send(client, session["id"], message("go"))
    clock.advance(3)
    response = await client.post(f"/sessions/{session['id']}/cancel")
    assert response.status_code == 202, response.text
    assert response.json() == {"id": session["id"], "type": "session", "status": "canceling"}
    events = await list_all(client, session["id"])
    assert events[:1] == earlier and len(events) == 2
    interrupt = events[1]
    assert interrupt == {
        "id": interrupt["id"],
        "type": "user.interrupt",
        "session_id": session["id"],
        "processed_at": format_ts(clock.now()),
    }
    assert interrupt["id"] > earlier[0]["id"]
    work = await item(client, session["environment_id"], session["work_id"])
    assert work["state"] == state  # the worker decides how to interrupt


@pytest.mark.parametrize("state", ["queued", "stopped"])
async def test_cancel_a_session_that_is_not_running_appends_nothing(
    client: httpx.AsyncClient, state: str
) -> None:
    session = await new_session(client)
    await drive_work(client, session, state)
    bodies: tuple[dict[str, Any] | None, ...] = (None, {})  # no body and an empty object
    for body in bodies:
        response = await client.post(f"/sessions/{session['id']}/cancel", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == {"id": session["id"], "type": "session", "status": "canceling"}
    assert await list_all(client, session["id"]) == []
    work = await item(client, session["environment_id"], session["work_id"])
    assert work["state"] == state


# delete --------------------------------------------------------------------------------------


async def test_delete_purges_the_events(client: httpx.AsyncClient, services: Services) -> None:
    env_id = (await create_environment(client))["id"]
    session = await create_session(client, env_id, initial_events=[message("first")])
    kept = await create_session(client, env_id)
    await send(client, session["id"], *(message(str(n)) for n in range(5)))
    kept_events = await send(client, kept["id"], message("keep me"))
    assert (await client.delete(f"/sessions/{session['id']}")).status_code == 200
    assert_error(await client.get(f"/sessions/{session['id']}/events"), 404, "not_found_error")
    everything = PageRequest(100)
    assert await services.store.list_events(session["id"], EventFilter(), everything, False) == []
    assert await list_all(client, kept["id"]) == kept_events
    # The work items stay for history, so the environment is still in use.
    response = await client.delete(f"/environments/{env_id}")
    assert_error(response, 409, "invalid_request_error")


# initial events ------------------------------------------------------------------------------


async def test_initial_events_are_appended_with_the_session(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env_id = (await create_environment(client))["id"]
    blocks = [{"type": "text", "text": "two"}]
    initial = [message("one"), {"type": "user.message", "content": blocks}]
    clock.advance(2)
    session = await create_session(
        client, env_id, initial_events=[*initial, {"type": "user.interrupt"}]
    )
    assert session["status"] == "rescheduling"
    events = await list_all(client, session["id"])
    assert [e["type"] for e in events] == ["user.message", "user.message", "user.interrupt"]
    assert events[0]["content"] == [{"type": "text", "text": "one"}]
    assert events[1]["content"] == blocks
    assert {e["processed_at"] for e in events} == {session["created_at"]}
    assert {e["session_id"] for e in events} == {session["id"]}
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    later = await send(client, session["id"], message("three"))
    assert later[0]["id"] > ids[-1]
    assert len(await work_items(client, env_id)) == 1  # initial messages do not requeue


async def test_session_without_initial_events_has_none(client: httpx.AsyncClient) -> None:
    session = await new_session(client, initial_events=None)
    assert await list_all(client, session["id"]) == []


# concurrent senders --------------------------------------------------------------------------


async def test_concurrent_senders_append_everything_in_id_order(
    client: httpx.AsyncClient,
) -> None:
    session = await new_session(client)
    await drive_work(client, session, "active")

    def batch(n: int) -> list[dict[str, Any]]:
        return [message(f"r{n}-e{k}", "agent.message") for k in range(5)]

    responses = await asyncio.gather(
        *(post_events(client, session["id"], *batch(n)) for n in range(20))
    )
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    listed = await list_all(client, session["id"])
    ids = [e["id"] for e in listed]
    assert len(listed) == 100
    assert all(a < b for a, b in itertools.pairwise(ids)), "ids must strictly increase"
    position = {e["id"]: n for n, e in enumerate(listed)}
    for n, response in enumerate(responses):
        created = response.json()["data"]
        assert [e["content"][0]["text"] for e in created] == [f"r{n}-e{k}" for k in range(5)]
        places = [position[e["id"]] for e in created]
        assert places == sorted(places)  # each request's events in its own order
        assert [listed[p] for p in places] == created
    assert sorted(position) == sorted(e["id"] for r in responses for e in r.json()["data"])


async def test_concurrent_user_messages_and_cancels_to_a_running_session(
    client: httpx.AsyncClient,
) -> None:
    session = await new_session(client)
    await drive_work(client, session, "active")
    calls = [post_events(client, session["id"], message(str(n))) for n in range(8)]
    calls += [client.post(f"/sessions/{session['id']}/cancel") for _ in range(4)]
    responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * 8 + [202] * 4, [r.text for r in responses]
    kinds = [e["type"] for e in await list_all(client, session["id"])]
    assert sorted(kinds) == ["user.interrupt"] * 4 + ["user.message"] * 8
    assert len(await work_items(client, session["environment_id"])) == 1


async def test_sixty_concurrent_senders_to_one_session_all_succeed(
    client: httpx.AsyncClient, backend: str
) -> None:
    session = await new_session(client)
    responses = await asyncio.gather(
        *(post_events(client, session["id"], message(str(n), "agent.message")) for n in range(60))
    )
    assert [r.status_code for r in responses] == [200] * 60, [r.text for r in responses]
    assert len(await list_all(client, session["id"])) == 60


@pytest.mark.parametrize("ending", ["archive", "delete"])
async def test_a_user_message_racing_the_end_of_a_session_leaves_no_live_work(
    client: httpx.AsyncClient, ending: str
) -> None:
    env_id = (await create_environment(client))["id"]
    accepted = 0
    for _ in range(8):
        session = await create_session(client, env_id)
        await drive_work(client, session, "stopped")
        end = (
            client.post(f"/sessions/{session['id']}/archive")
            if ending == "archive"
            else client.delete(f"/sessions/{session['id']}")
        )
        sent, ended = await asyncio.gather(post_events(client, session["id"], message()), end)
        assert ended.status_code == 200, ended.text
        assert sent.status_code in (200, 400 if ending == "archive" else 404), sent.text
        accepted += sent.status_code == 200
    items = await work_items(client, env_id)
    assert [w for w in items if w["state"] != "stopped"] == []
    # Each accepted message made exactly one more item (then stopped by the ending).
    assert len(items) == 8 + accepted
