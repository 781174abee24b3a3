"""Retention on both backends, with the clock moved (never slept)."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.events_support import drive_work, message, send, work_items
from tests.conftest import create_environment, create_session
from workyard.clock import ManualClock
from workyard.service.container import Services
from workyard.service.retention import PRUNED, Retention

DAY = 86400


async def _scenario(client: httpx.AsyncClient, clock: ManualClock) -> dict[str, str]:
    """Sessions and work of every kind; returns their ids by role."""
    env = await create_environment(client)
    # A living session whose first item stopped long ago (prunable) and whose current one is live.
    live = await create_session(client, env["id"])
    await drive_work(client, live, "stopped")
    await send(client, live["id"], message("again"))
    # A living session whose only, current item stopped long ago: kept while the session lives.
    idle = await create_session(client, env["id"])
    await drive_work(client, idle, "stopped")
    # An archived session with events: pruned with its events and work.
    archived = await create_session(client, env["id"])
    await send(client, archived["id"], message("one"), message("two"))
    assert (await client.post(f"/sessions/{archived['id']}/archive")).status_code == 200
    clock.advance(31 * DAY)
    # Recent work: kept.
    recent = await create_session(client, env["id"])
    await drive_work(client, recent, "stopped")
    return {
        "env": env["id"], "old": live["work_id"], "live": live["id"], "idle": idle["id"],
        "idle_work": idle["work_id"], "archived": archived["id"],
        "archived_work": archived["work_id"], "recent_work": recent["work_id"],
    }  # fmt: skip


async def test_prune_deletes_only_what_is_old_and_unreferenced(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await services.retention.stop()  # this test runs the passes itself
    services.retention.batch = 2  # many tiny batches
    ids = await _scenario(client, clock)
    before = services.retention.cutoff()
    would = await services.store.count_prunable(before)
    pruned_before = dict(PRUNED)
    counts = await services.retention.prune(before)
    assert counts == would == {"work_items": 2, "sessions": 1, "events": 2}
    assert {t: PRUNED[t] - pruned_before[t] for t in PRUNED} == counts

    remaining = {item["id"] for item in await work_items(client, ids["env"])}
    assert ids["old"] not in remaining and ids["archived_work"] not in remaining
    assert {ids["idle_work"], ids["recent_work"]} <= remaining
    assert len(remaining) == 3  # and the live session's current item
    assert (await client.get(f"/sessions/{ids['archived']}")).status_code == 404
    for kept in (ids["live"], ids["idle"]):
        assert (await client.get(f"/sessions/{kept}")).status_code == 200
    assert await services.retention.prune(before) == {"work_items": 0, "sessions": 0, "events": 0}

    metrics = (await client.get("http://testserver/metrics")).text
    assert f'workyard_pruned_rows_total{{table="sessions"}} {float(PRUNED["sessions"])}' in metrics


async def test_deleted_sessions_are_pruned_too(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await services.retention.stop()
    env = await create_environment(client)
    gone = await create_session(client, env["id"])
    assert (await client.delete(f"/sessions/{gone['id']}")).status_code in (200, 204)
    clock.advance(30 * DAY - 1)
    assert (await services.retention.prune(services.retention.cutoff()))["sessions"] == 0
    clock.advance(2)
    counts = await services.retention.prune(services.retention.cutoff())
    assert counts["sessions"] == 1 and counts["work_items"] == 1
    assert await work_items(client, env["id"]) == []


async def test_the_background_task_prunes_when_the_clock_moves(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    env = await create_environment(client)
    archived = await create_session(client, env["id"])
    assert (await client.post(f"/sessions/{archived['id']}/archive")).status_code == 200
    passes = services.retention.passes
    clock.advance(31 * DAY)  # wakes the task
    for _ in range(500):  # until the pass that the clock move started has finished
        if services.retention.passes > passes and not await work_items(client, env["id"]):
            break
        await asyncio.sleep(0.01)
    assert await work_items(client, env["id"]) == []


async def test_zero_days_keeps_everything(services: Services, clock: ManualClock) -> None:
    assert services.retention.running
    off = Retention(services.store, clock, 0)
    off.start()
    assert not off.running
