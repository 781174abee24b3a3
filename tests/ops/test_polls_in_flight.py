"""A blocked long poll is counted in ``workyard_polls_in_flight`` until it answers."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import create_environment, create_session


def _gauge(text: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith("workyard_polls_in_flight "))
    return float(line.split()[1])


async def test_a_blocked_poll_is_in_flight_until_work_arrives(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    poll = asyncio.create_task(
        client.get(f"/environments/{env['id']}/work/poll", params={"block_ms": 999})
    )
    for _ in range(1000):  # until the poll is waiting inside the server
        if _gauge((await client.get("http://testserver/metrics")).text) == 1:
            break
        await asyncio.sleep(0)
    assert _gauge((await client.get("http://testserver/metrics")).text) == 1
    session = await create_session(client, env["id"])
    assert (await poll).json()["id"] == session["work_id"]
    assert _gauge((await client.get("http://testserver/metrics")).text) == 0
