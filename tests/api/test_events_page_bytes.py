"""A page of listed events is bounded in bytes as well as in count (docs/api.md, **[decided]**):
events are kept, nearest the cursor first, while their stored JSON totals at most the budget (the
first one always); a page cut short says ``has_more`` and its ``next_page`` continues after it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.events_support import list_page, message, new_session, send
from workyard.domain.limits import MAX_EVENT_BYTES, MAX_EVENT_PAGE_BYTES
from workyard.service.container import Services

TEXT = 1000  # characters per message: its stored JSON is a little more


async def _walk(
    client: httpx.AsyncClient, session_id: str, params: dict[str, Any]
) -> list[list[str]]:
    """Every page's event ids, following ``next_page`` from ``params``."""
    pages: list[list[str]] = []
    fixed = {k: v for k, v in params.items() if k in ("limit", "order")}
    while True:
        page = await list_page(client, session_id, params)
        ids = [e["id"] for e in page["data"]]
        assert ids, page  # a page is never empty while there is more
        pages.append(ids)
        assert (page["next_page"] is not None) is page["has_more"]
        assert (page["first_id"], page["last_id"]) == (ids[0], ids[-1])
        if not page["has_more"]:
            return pages
        params = fixed | {"page": page["next_page"]}


async def _session_with_events(client: httpx.AsyncClient, n: int) -> tuple[str, list[str]]:
    session = await new_session(client)
    texts = [f"{i:04d}" + "x" * (TEXT - 4) for i in range(n)]
    created = await send(client, session["id"], *(message(t) for t in texts))
    return session["id"], [e["id"] for e in created]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_pages_stop_at_the_byte_budget_and_continue(
    services: Services, client: httpx.AsyncClient, order: str
) -> None:
    services.events.page_bytes = 3 * TEXT + 500  # three events fit, four do not
    sid, ids = await _session_with_events(client, 10)
    pages = await _walk(client, sid, {"limit": 100, "order": order})
    expected = ids if order == "asc" else ids[::-1]
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [i for p in pages for i in p] == expected  # every event once, in order


async def test_a_page_before_an_id_keeps_the_events_nearest_it(
    services: Services, client: httpx.AsyncClient
) -> None:
    services.events.page_bytes = 3 * TEXT + 500
    sid, ids = await _session_with_events(client, 10)
    page = await list_page(client, sid, {"before_id": ids[8], "limit": 100})
    assert [e["id"] for e in page["data"]] == ids[5:8]
    assert page["has_more"] is True
    earlier = await list_page(client, sid, {"page": page["next_page"], "limit": 100})
    assert [e["id"] for e in earlier["data"]] == ids[2:5]


async def test_the_count_limit_still_applies_under_the_budget(
    services: Services, client: httpx.AsyncClient
) -> None:
    sid, ids = await _session_with_events(client, 10)  # 10 kB: far below the default budget
    pages = await _walk(client, sid, {"limit": 4})
    assert [len(p) for p in pages] == [4, 4, 2]
    assert [i for p in pages for i in p] == ids


async def test_one_event_over_the_budget_is_a_page_of_its_own(
    services: Services, client: httpx.AsyncClient
) -> None:
    services.events.page_bytes = TEXT // 2
    sid, ids = await _session_with_events(client, 3)
    assert await _walk(client, sid, {"limit": 100}) == [[i] for i in ids]


async def test_the_default_budget_cuts_a_page_of_large_events(client: httpx.AsyncClient) -> None:
    """Five events of almost 2 MiB each: the default 8 MiB page holds four."""
    session = await new_session(client)
    size = MAX_EVENT_BYTES - 1024
    assert 4 * size <= MAX_EVENT_PAGE_BYTES < 5 * size
    for i in range(5):
        await send(client, session["id"], message(f"{i}" + "y" * (size - 100)))
    first = await list_page(client, session["id"], {"limit": 100})
    assert len(first["data"]) == 4 and first["has_more"] is True
    assert len(first["data"][0]["content"][0]["text"]) == size - 99
    rest = await list_page(client, session["id"], {"page": first["next_page"]})
    assert len(rest["data"]) == 1 and rest["has_more"] is False
