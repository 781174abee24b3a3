"""``GET /metrics``: Prometheus exposition of request counts, latencies and queue gauges."""

from __future__ import annotations

import httpx

from tests.conftest import create_environment, create_session


async def _scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("http://testserver/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    await client.get(f"/environments/{env['id']}")
    await client.get("/environments/env_00000000000000000000000000000000")
    text = await _scrape(client)
    ok = (
        'workyard_http_requests_total{method="GET",'
        'route="/environments/{environment_id}",status="200"} 1.0'
    )
    missing = ok.replace('status="200"', 'status="404"')
    assert ok in text
    assert missing in text
    assert "workyard_http_request_duration_seconds_bucket" in text


async def test_queue_gauges_follow_the_queue(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    for _ in range(3):
        await create_session(client, env["id"])
    work = f"/environments/{env['id']}/work"
    item = (await client.get(f"{work}/poll")).json()
    await client.post(f"{work}/{item['id']}/ack")
    text = await _scrape(client)
    assert f'workyard_queue_undelivered{{environment_id="{env["id"]}"}} 2.0' in text
    assert f'workyard_queue_leased{{environment_id="{env["id"]}"}} 1.0' in text


async def test_long_polls_are_counted_but_not_timed(client: httpx.AsyncClient) -> None:
    env = await create_environment(client)
    await client.get(f"/environments/{env['id']}/work/poll")
    await client.get(f"/environments/{env['id']}/work/stats")
    text = await _scrape(client)
    poll = "/environments/{environment_id}/work/poll"
    stats = "/environments/{environment_id}/work/stats"
    assert f'workyard_http_requests_total{{method="GET",route="{poll}",status="200"}} 1.0' in text
    assert f'workyard_http_request_duration_seconds_count{{route="{stats}"}} 1.0' in text
    assert f'workyard_http_request_duration_seconds_count{{route="{poll}"}}' not in text
