"""``GET /environments``: order, filters and pagination (spec/environments.md, conventions.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import assert_error, create_environment
from workyard.clock import ManualClock, format_ts, parse_ts


async def _create_many(client: httpx.AsyncClient, count: int, prefix: str = "e") -> list[str]:
    """Create ``count`` environments one after another; ids in creation order."""
    return [(await create_environment(client, name=f"{prefix}{i}"))["id"] for i in range(count)]


async def _list(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/environments", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert_page_invariants(page)
    return page


def assert_page_invariants(page: dict[str, Any]) -> None:
    assert set(page) == {"data", "first_id", "last_id", "has_more", "next_page"}
    ids = [e["id"] for e in page["data"]]
    assert page["first_id"] == (ids[0] if ids else None)
    assert page["last_id"] == (ids[-1] if ids else None)
    assert (page["next_page"] is not None) == page["has_more"], page
    assert ids == sorted(ids, reverse=True), "a page is newest first"


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["id"] for e in page["data"]]


# --- order and filters -------------------------------------------------------------------------


async def test_empty_list(client: httpx.AsyncClient) -> None:
    page = await _list(client)
    assert page == {
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
        "next_page": None,
    }


async def test_newest_first_even_within_one_instant(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    same_instant = await _create_many(client, 3, "same")
    clock.advance(1)
    later = await _create_many(client, 2, "later")
    assert _ids(await _list(client)) == list(reversed(same_instant + later))


async def test_include_archived(client: httpx.AsyncClient) -> None:
    first, second, third = await _create_many(client, 3)
    assert (await client.post(f"/environments/{second}/archive")).status_code == 200
    assert _ids(await _list(client)) == [third, first]
    assert _ids(await _list(client, include_archived="false")) == [third, first]
    assert _ids(await _list(client, include_archived="true")) == [third, second, first]


@pytest.mark.parametrize("value", ["yes", "1", "True", "", "on"])
async def test_include_archived_must_be_true_or_false(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get("/environments", params={"include_archived": value})
    assert_error(response, 400, "invalid_request_error", "include_archived")


async def test_created_at_bounds_are_inclusive(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    stamps: list[int] = []
    ids: list[str] = []
    for i in range(3):
        stamps.append(clock.now())
        ids.append((await create_environment(client, name=f"t{i}"))["id"])
        clock.advance(10)
    middle = format_ts(stamps[1])
    assert _ids(await _list(client, **{"created_at[gte]": middle})) == [ids[2], ids[1]]
    assert _ids(await _list(client, **{"created_at[lte]": middle})) == [ids[1], ids[0]]
    both = {"created_at[gte]": middle, "created_at[lte]": middle}
    assert _ids(await _list(client, **both)) == [ids[1]]
    just_after = format_ts(stamps[1] + 1)
    assert _ids(await _list(client, **{"created_at[gte]": just_after})) == [ids[2]]
    future = format_ts(clock.now() + 1)
    assert _ids(await _list(client, **{"created_at[gte]": future})) == []


async def test_created_at_accepts_any_offset(client: httpx.AsyncClient, clock: ManualClock) -> None:
    env = await create_environment(client)
    clock.advance(60)
    later = await create_environment(client, name="later")
    assert later["created_at"] == format_ts(parse_ts(env["created_at"]) + 60_000_000)
    # 08:01:00Z written as +02:00 and as +00:00
    for bound in ("2026-07-01T10:01:00+02:00", "2026-07-01T08:01:00+00:00", "2026-07-01T08:01:00Z"):
        assert _ids(await _list(client, **{"created_at[gte]": bound})) == [later["id"]]


@pytest.mark.parametrize("name", ["created_at[gte]", "created_at[lte]"])
@pytest.mark.parametrize("value", ["2026-07-01T08:00:00", "2026-07-01", "yesterday", "1751356800"])
async def test_bad_created_at_is_400(client: httpx.AsyncClient, name: str, value: str) -> None:
    assert_error(
        await client.get("/environments", params={name: value}), 400, "invalid_request_error", name
    )


# --- limit -------------------------------------------------------------------------------------


async def test_limit_defaults_to_20_and_is_capped_at_100(client: httpx.AsyncClient) -> None:
    ids = await _create_many(client, 105)
    newest_first = list(reversed(ids))
    default = await _list(client)
    assert _ids(default) == newest_first[:20]
    assert default["has_more"]
    for limit in ("100", "101", "1000", "99999999999999999999"):
        assert _ids(await _list(client, limit=limit)) == newest_first[:100]
    one = await _list(client, limit=1)
    assert _ids(one) == newest_first[:1]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "", " 5", "5 ", "0x10", "1e2", "+5"])
async def test_bad_limit_is_400(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get("/environments", params={"limit": limit})
    assert_error(response, 400, "invalid_request_error", "limit")


# --- cursors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ("page", "after_id"),
        ("page", "before_id"),
        ("after_id", "before_id"),
        ("page", "after_id", "before_id"),
    ],
)
async def test_cursor_params_are_mutually_exclusive(
    client: httpx.AsyncClient, names: tuple[str, ...]
) -> None:
    ids = await _create_many(client, 3)
    page = await _list(client, limit=1)
    values = {"page": page["next_page"], "after_id": ids[1], "before_id": ids[1]}
    response = await client.get("/environments", params={n: values[n] for n in names})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] in names
    assert "mutually exclusive" in error["message"]


@pytest.mark.parametrize("cursor", ["garbage", "e30", "!!!", "a" * 500, "eyJkIjoiYWZ0ZXIifQ"])
async def test_bad_page_cursor_is_400(client: httpx.AsyncClient, cursor: str) -> None:
    await _create_many(client, 2)
    response = await client.get("/environments", params={"page": cursor})
    assert_error(response, 400, "invalid_request_error", "page")


@pytest.mark.parametrize("name", ["after_id", "before_id"])
@pytest.mark.parametrize("value", ["sess_0190a1b2c3d4e5f60718293a4b5c6d7e", "env_x", "123"])
async def test_bad_anchor_id_is_400(client: httpx.AsyncClient, name: str, value: str) -> None:
    response = await client.get("/environments", params={name: value})
    assert_error(response, 400, "invalid_request_error", name)


async def test_walking_pages_sees_every_environment_once_despite_inserts(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    existing = set(await _create_many(client, 30, "old"))
    inserted: list[str] = []
    seen: list[str] = []
    page = await _list(client, limit=7)
    pages = 1
    while True:
        seen.extend(_ids(page))
        if not page["has_more"]:
            break
        clock.advance(0.5)
        creates = [create_environment(client, name=f"new{pages}-{i}") for i in range(3)]
        fetched, *created = await asyncio.gather(
            client.get("/environments", params={"limit": 7, "page": page["next_page"]}),
            *creates,
        )
        inserted.extend(env["id"] for env in created)
        assert fetched.status_code == 200, fetched.text
        page = fetched.json()
        assert_page_invariants(page)
        pages += 1
        assert pages < 20, "paging did not terminate"
    assert len(seen) == len(set(seen)), "an environment was returned twice"
    assert existing <= set(seen), "an environment was skipped"
    assert set(seen) - existing <= set(inserted)
    assert seen == sorted(seen, reverse=True)
    assert pages == 5  # 30 rows, 7 per page


async def test_after_id_and_before_id_follow_list_order(client: httpx.AsyncClient) -> None:
    order = list(reversed(await _create_many(client, 15)))  # list order: newest first
    anchor = order[10]
    after = await _list(client, after_id=anchor, limit=3)
    assert _ids(after) == order[11:14]
    assert after["has_more"]
    before = await _list(client, before_id=anchor, limit=3)
    assert _ids(before) == order[7:10]
    assert before["has_more"]
    assert _ids(await _list(client, after_id=order[-1])) == []


async def test_before_cursor_keeps_walking_backwards(client: httpx.AsyncClient) -> None:
    order = list(reversed(await _create_many(client, 15)))
    page = await _list(client, before_id=order[10], limit=3)
    walked = [_ids(page)]
    while page["has_more"]:
        page = await _list(client, page=page["next_page"], limit=3)
        walked.append(_ids(page))
    assert walked == [order[7:10], order[4:7], order[1:4], order[0:1]]
    assert page["next_page"] is None


async def test_cursor_keeps_the_filters(client: httpx.AsyncClient) -> None:
    ids = await _create_many(client, 6)
    for env_id in ids[::2]:
        assert (await client.post(f"/environments/{env_id}/archive")).status_code == 200
    active = list(reversed(ids[1::2]))
    first = await _list(client, limit=2)
    assert _ids(first) == active[:2]
    second = await _list(client, limit=2, page=first["next_page"])
    assert _ids(second) == active[2:]
    assert not second["has_more"]


async def test_anchor_of_a_deleted_environment_still_positions_the_page(
    client: httpx.AsyncClient,
) -> None:
    order = list(reversed(await _create_many(client, 6)))
    assert (await client.delete(f"/environments/{order[3]}")).status_code == 200
    assert _ids(await _list(client, before_id=order[3], limit=2)) == order[1:3]
    assert _ids(await _list(client, after_id=order[3], limit=2)) == order[4:6]


async def test_huge_limit_is_capped_not_refused(client: httpx.AsyncClient) -> None:
    await _create_many(client, 3)
    page = await _list(client, limit="1" * 25)
    assert len(page["data"]) == 3
