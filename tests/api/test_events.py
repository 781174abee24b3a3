"""spec/sessions.md "Events": sending events and reading them back (list, filters, pagination).

Rules (requeue, cancel, delete, concurrency) are in ``test_events_rules.py``; rejected input in
``test_events_bad_input.py``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.events_support import event_ids, list_all, list_page, message, new_session, send
from workyard.clock import ManualClock, format_ts

EVENT_ID = re.compile(r"^evt_[0-9a-f]{32}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
BLOCKS = [
    {"type": "text", "text": "look at this"},
    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
]

# (what is sent, the type-specific fields of the created event)
CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"type": "user.message", "content": "hello"},
        {"content": [{"type": "text", "text": "hello"}]},
    ),
    ({"type": "user.message", "content": BLOCKS}, {"content": BLOCKS}),
    ({"type": "user.interrupt"}, {}),
    ({"type": "agent.message", "content": "ok"}, {"content": [{"type": "text", "text": "ok"}]}),
    ({"type": "agent.message", "content": BLOCKS[:1]}, {"content": BLOCKS[:1]}),
    (
        {"type": "agent.tool_use", "name": "bash", "input": {"cmd": "ls -la", "n": [1, 2.5]}},
        {"name": "bash", "input": {"cmd": "ls -la", "n": [1, 2.5]}},
    ),
    ({"type": "agent.tool_use", "name": "noop"}, {"name": "noop", "input": {}}),
    (
        {"type": "agent.tool_result", "tool_use_id": "tu_1", "content": "out", "is_error": True},
        {"tool_use_id": "tu_1", "content": [{"type": "text", "text": "out"}], "is_error": True},
    ),
    (
        {"type": "agent.tool_result", "tool_use_id": "tu_2", "content": BLOCKS[:1]},
        {"tool_use_id": "tu_2", "content": BLOCKS[:1], "is_error": False},
    ),
    (
        {"type": "agent.tool_result", "tool_use_id": "tu_3"},
        {"tool_use_id": "tu_3", "content": [], "is_error": False},
    ),
    (
        {"type": "session.error", "error": {"message": "boom", "code": 137}},
        {"error": {"message": "boom", "code": 137}},
    ),
    ({"type": "system.message", "content": "sys"}, {"content": [{"type": "text", "text": "sys"}]}),
    (
        {"type": "user.message", "content": "ünïcødé ✓ \U0001f680"},
        {"content": [{"type": "text", "text": "ünïcødé ✓ \U0001f680"}]},
    ),
]


async def test_send_every_type_returns_the_created_events(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    session = await new_session(client)
    clock.advance(5)
    created = await send(client, session["id"], *(sent for sent, _ in CASES))
    now = format_ts(clock.now())
    assert len(created) == len(CASES)
    for event, (sent, fields) in zip(created, CASES, strict=True):
        assert EVENT_ID.match(event["id"]), event
        assert event == {
            "id": event["id"],
            "type": sent["type"],
            "session_id": session["id"],
            "processed_at": now,
            **fields,
        }
    ids = [e["id"] for e in created]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert await list_all(client, session["id"]) == created


async def test_ids_increase_across_requests_and_processed_at_follows_the_clock(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    session = await new_session(client)
    created: list[dict[str, Any]] = []
    for n in range(4):
        created += await send(
            client, session["id"], message(f"m{n}"), message(f"a{n}", "agent.message")
        )
        clock.advance(0.000001 if n == 0 else 1.5)
    ids = [e["id"] for e in created]
    assert ids == sorted(ids) and len(set(ids)) == 8
    stamps = [e["processed_at"] for e in created]
    assert all(TS.match(s) for s in stamps), stamps
    assert stamps[0] == format_ts(clock.now() - 4_500_001)
    assert stamps[2] == format_ts(clock.now() - 4_500_000)  # microsecond precision kept
    assert stamps == sorted(stamps)
    assert [e["content"][0]["text"] for e in await list_all(client, session["id"])] == [
        f"{kind}{n}" for n in range(4) for kind in ("m", "a")
    ]


@pytest.mark.parametrize("count", [1, 100])
async def test_send_one_to_a_hundred_events(client: httpx.AsyncClient, count: int) -> None:
    session = await new_session(client)
    created = await send(client, session["id"], *(message(str(n)) for n in range(count)))
    assert [e["content"][0]["text"] for e in created] == [str(n) for n in range(count)]
    assert [e["id"] for e in await list_all(client, session["id"])] == [e["id"] for e in created]


async def test_events_of_two_sessions_are_separate(client: httpx.AsyncClient) -> None:
    first, second = await new_session(client), await new_session(client)
    a = await send(client, first["id"], message("for first"))
    b = await send(client, second["id"], message("for second"), message("again"))
    assert await list_all(client, first["id"]) == a
    assert await list_all(client, second["id"]) == b
    assert all(e["session_id"] == second["id"] for e in b)


async def test_a_near_limit_event_is_accepted(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    text = "x" * (1024 * 1024 - 200)
    created = await send(client, session["id"], message(text))
    assert created[0]["content"] == [{"type": "text", "text": text}]
    assert (await list_all(client, session["id"]))[0]["content"][0]["text"] == text


# list ----------------------------------------------------------------------------------------


async def test_list_order_and_empty_list(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    empty = await list_page(client, session["id"])
    assert empty == {
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
        "next_page": None,
    }
    ids = [e["id"] for e in await send(client, session["id"], *(message(str(n)) for n in range(5)))]
    assert await event_ids(client, session["id"]) == ids
    assert await event_ids(client, session["id"], {"order": "asc"}) == ids
    assert await event_ids(client, session["id"], {"order": "desc"}) == ids[::-1]
    body = await list_page(client, session["id"])
    assert (body["first_id"], body["last_id"], body["has_more"]) == (ids[0], ids[-1], False)


async def test_list_types_filter_is_repeatable(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    created = await send(client, session["id"], *(sent for sent, _ in CASES))

    def of(*kinds: str) -> list[str]:
        return [e["id"] for e in created if e["type"] in kinds]

    sid = session["id"]
    assert await event_ids(client, sid, [("types[]", "user.message")]) == of("user.message")
    two = [("types[]", "agent.tool_use"), ("types[]", "agent.tool_result")]
    assert await event_ids(client, sid, two) == of("agent.tool_use", "agent.tool_result")
    desc = [("types[]", "session.error"), ("types[]", "user.interrupt"), ("order", "desc")]
    assert await event_ids(client, sid, desc) == of("session.error", "user.interrupt")[::-1]
    assert await event_ids(client, sid, [("types[]", "system.message")]) == of("system.message")
    other = await new_session(client)
    assert await event_ids(client, other["id"], [("types[]", "user.message")]) == []


async def test_list_created_at_filters(client: httpx.AsyncClient, clock: ManualClock) -> None:
    session = await new_session(client)
    batches = []
    for _ in range(3):
        batches.append([e["id"] for e in await send(client, session["id"], message(), message())])
        clock.advance(1)
    b1, b2, b3 = batches
    t2 = format_ts(clock.now() - 2_000_000)
    t1 = format_ts(clock.now() - 3_000_000)
    sid = session["id"]
    assert await event_ids(client, sid, {"created_at[gt]": t2}) == b3
    assert await event_ids(client, sid, {"created_at[gte]": t2}) == b2 + b3
    assert await event_ids(client, sid, {"created_at[lt]": t2}) == b1
    assert await event_ids(client, sid, {"created_at[lte]": t2}) == b1 + b2
    assert await event_ids(client, sid, {"created_at[gt]": t1, "created_at[lt]": t2}) == []
    both = {"created_at[gte]": t1, "created_at[lte]": t2, "order": "desc"}
    assert await event_ids(client, sid, both) == (b1 + b2)[::-1]
    offset_form = t2.replace("T08:00:01", "T10:00:01").replace("Z", "+02:00")
    assert await event_ids(client, sid, {"created_at[gte]": offset_form}) == b2 + b3
    typed = {"created_at[gte]": t2, "types[]": "user.message", "limit": 3}
    assert await event_ids(client, sid, typed) == (b2 + b3)[:3]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_list_pagination(client: httpx.AsyncClient, order: str) -> None:
    session = await new_session(client)
    ids = [e["id"] for e in await send(client, session["id"], *(message(str(n)) for n in range(7)))]
    expected = ids if order == "asc" else ids[::-1]
    seen: list[str] = []
    params: dict[str, Any] = {"order": order, "limit": 3}
    pages = 0
    while True:
        body = await list_page(client, session["id"], params)
        pages += 1
        seen += [e["id"] for e in body["data"]]
        assert body["first_id"] == body["data"][0]["id"]
        assert body["last_id"] == body["data"][-1]["id"]
        assert (body["next_page"] is not None) == body["has_more"]
        if not body["has_more"]:
            break
        params = {"order": order, "limit": 3, "page": body["next_page"]}
    assert (seen, pages) == (expected, 3)
    sid = session["id"]
    assert await event_ids(client, sid, {"order": order, "after_id": expected[1]}) == expected[2:]
    assert await event_ids(client, sid, {"order": order, "before_id": expected[3]}) == expected[:3]
    near = {"order": order, "before_id": expected[5], "limit": 2}
    assert await event_ids(client, sid, near) == expected[3:5]


async def test_paging_stays_correct_while_events_are_appended(client: httpx.AsyncClient) -> None:
    session = await new_session(client)
    first = [e["id"] for e in await send(client, session["id"], *(message() for _ in range(4)))]
    body = await list_page(client, session["id"], {"limit": 3})
    later = [e["id"] for e in await send(client, session["id"], message(), message())]
    rest = await list_page(client, session["id"], {"limit": 10, "page": body["next_page"]})
    assert [e["id"] for e in body["data"] + rest["data"]] == first + later
