"""A lease expires while the sweeper and a request both notice it: the item is requeued once and
the very next poll gets it (on PostgreSQL a second, losing requeue would hold the row locked for a
moment, hiding it from the claim's ``SKIP LOCKED``)."""

from __future__ import annotations

import httpx

from tests.api.test_work_lease import US, A, B, ack, assert_requeued, new_work, poll
from tests.api.test_work_table import get_item
from tests.conftest import create_environment
from workyard.clock import ManualClock

ROUNDS = 40


async def test_a_requeued_item_is_polled_at_once_whoever_requeued_it(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    missed = []
    for round_ in range(ROUNDS):
        env_id = (await create_environment(client))["id"]
        work_id = await new_work(client, env_id)
        assert (await poll(client, env_id, A))["id"] == work_id
        assert (await ack(client, env_id, work_id, A)).status_code == 200
        clock.advance(60 - US)
        await get_item(client, env_id, work_id)  # the sweeper now sleeps until the deadline
        clock.advance(US)  # ... and wakes; this request notices the deadline too
        assert_requeued(await get_item(client, env_id, work_id))
        got = await poll(client, env_id, B, reclaim_older_than_ms=3_600_000)
        if got is None or got["id"] != work_id:
            missed.append(round_)
    assert missed == []
