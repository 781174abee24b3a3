"""``list_event_page``: every page shape, cut where the stored bodies pass the byte budget (both
backends agree with a brute-force answer)."""

from __future__ import annotations

import pytest

from tests.store.records import T0, env, expected_window, ident, insert, page_shapes, session
from workyard.domain.models import Event
from workyard.store import codec
from workyard.store.base import EventFilter, Store


def _size(event: Event) -> int:
    return len(str(codec.event_params(event)["body"]).encode())


@pytest.mark.parametrize("descending", [False, True])
async def test_every_page_shape_under_every_budget(any_store: Store, descending: bool) -> None:
    e = env(1)
    s = session(1, e.id)
    events = [
        Event(ident("evt", n), s.id, "user.message", T0 + n, {"content": "é" * (50 * (n % 4))})
        for n in range(1, 10)
    ]
    await insert(any_store, e, s, *events)
    sizes = {ev.id: _size(ev) for ev in events}
    by_id = {ev.id: ev for ev in events}
    ordered = sorted(by_id, reverse=descending)
    for budget in (0, 200, 450, 10**9):
        for page in page_shapes(sorted(by_id)):
            window = expected_window(ordered, page, descending)
            scan = (
                window[::-1] if page.direction == "before" and page.anchor is not None else window
            )
            kept: list[str] = []
            total = 0
            for i in scan:
                total += sizes[i]
                if kept and total > budget:
                    break
                kept.append(i)
            expected = (
                kept[::-1] if page.direction == "before" and page.anchor is not None else kept
            )
            rows, cut = await any_store.list_event_page(
                s.id, EventFilter(), page, descending, budget
            )
            assert [r.id for r in rows] == expected, (budget, page)
            assert cut is (len(kept) < len(window)), (budget, page)
            assert all(r == by_id[r.id] for r in rows)
