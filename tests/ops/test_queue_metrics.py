"""Queue metrics scraped from real servers: transitions, expiries, fencing, wait and run times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, start_server
from tests.pg import fresh_schema_sync, require_postgres, schema_url


def _scrape(server: ServerProcess) -> dict[str, float]:
    """``{'name{labels}': value}`` of a real /metrics scrape."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def _api(server: ServerProcess, worker: str = "w1") -> httpx.Client:
    headers = {"authorization": f"Bearer {server.token}", "worker-id": worker}
    return httpx.Client(base_url=server.api, headers=headers, timeout=10)


def _env_and_session(server: ServerProcess) -> tuple[str, str]:
    with _api(server) as http:
        env = http.post("/environments", json={"name": "m", "config": {"type": "self_hosted"}})
        env_id: str = env.json()["id"]
        session = http.post("/sessions", json={"environment_id": env_id}).json()
        return env_id, session["work_id"]


def test_one_server_counts_its_queue_events(server: ServerProcess) -> None:
    env_id, work_id = _env_and_session(server)
    base = f"/environments/{env_id}/work"
    server.advance(30)
    assert _scrape(server)[f'workyard_queue_oldest_age_seconds{{environment_id="{env_id}"}}'] == 30
    with _api(server) as http, _api(server, "w2") as other:
        assert http.get(f"{base}/poll").json()["id"] == work_id
        assert other.post(f"{base}/{work_id}/ack").status_code == 409  # delivered to w1
        assert http.post(f"{base}/{work_id}/ack").status_code == 200
        stale = {"expected_last_heartbeat": "2020-01-01T00:00:00.000000Z"}
        assert http.post(f"{base}/{work_id}/heartbeat", params=stale).status_code == 412
        server.advance(60)  # the ack lease expires: back in the queue
        assert http.get(f"{base}/{work_id}").json()["state"] == "queued"
        assert http.get(f"{base}/poll").json()["id"] == work_id
        http.post(f"{base}/{work_id}/ack").raise_for_status()
        server.advance(5)
        http.post(f"{base}/{work_id}/stop", json={"force": True}).raise_for_status()
    m = _scrape(server)
    t = "workyard_work_transitions_total"
    assert m[f'{t}{{from_state="none",to_state="queued"}}'] == 1
    assert m[f'{t}{{from_state="queued",to_state="starting"}}'] == 2
    assert m[f'{t}{{from_state="starting",to_state="queued"}}'] == 1
    assert m[f'{t}{{from_state="starting",to_state="stopped"}}'] == 1
    assert m['workyard_work_lease_expirations_total{state="starting"}'] == 1
    assert m["workyard_work_redeliveries_total"] == 1
    f = "workyard_work_fencing_rejections_total"
    assert m[f'{f}{{operation="ack",status="409"}}'] == 1
    assert m[f'{f}{{operation="heartbeat",status="412"}}'] == 1
    wait = "workyard_work_queue_wait_seconds"
    assert m[f'{wait}_count{{environment_id="{env_id}"}}'] == 2
    assert m[f'{wait}_sum{{environment_id="{env_id}"}}'] == 30 + 90
    run = "workyard_work_run_seconds"
    assert m[f'{run}_sum{{environment_id="{env_id}"}}'] == 5
    assert f'workyard_queue_oldest_age_seconds{{environment_id="{env_id}"}}' not in m
    assert m["workyard_polls_in_flight"] == 0 and m["workyard_event_streams_open"] == 0
    assert m['workyard_build_info{version="0.1.0"}'] == 1
    assert m["process_cpu_seconds_total"] > 0
    assert any(key.startswith("python_info{") for key in m)


def test_an_open_event_stream_is_counted_while_it_lasts(server: ServerProcess) -> None:
    env_id, _ = _env_and_session(server)
    with _api(server) as http:
        session_id = http.get("/sessions", params={"environment_id": env_id}).json()["data"][0]
        with http.stream("GET", f"/sessions/{session_id['id']}/events/stream") as stream:
            assert stream.status_code == 200
            assert _scrape(server)["workyard_event_streams_open"] == 1
    for _ in range(100):  # the server notices the closed connection on its own schedule
        if _scrape(server)["workyard_event_streams_open"] == 0:
            break
    assert _scrape(server)["workyard_event_streams_open"] == 0


@pytest.fixture
def two_replicas(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    require_postgres()
    with fresh_schema_sync() as schema:
        url = schema_url(schema)
        a = start_server(tmp_path / "a", "--database-url", url)
        try:
            b = start_server(tmp_path / "b", "--database-url", url)
            b.token = a.token
            try:
                yield a, b
            finally:
                b.stop()
        finally:
            a.stop()


def test_replicas_count_only_their_own_transitions(
    two_replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_replicas
    env_id, work_id = _env_and_session(a)
    base = f"/environments/{env_id}/work"
    with _api(b) as http:
        assert http.get(f"{base}/poll", params={"block_ms": 999}).json()["id"] == work_id
        http.post(f"{base}/{work_id}/ack").raise_for_status()
    created = 'workyard_work_transitions_total{from_state="none",to_state="queued"}'
    acked = 'workyard_work_transitions_total{from_state="queued",to_state="starting"}'
    on_a, on_b = _scrape(a), _scrape(b)
    assert (on_a.get(created, 0), on_b.get(created, 0)) == (1, 0)
    assert (on_a.get(acked, 0), on_b.get(acked, 0)) == (0, 1)
    wait = f'workyard_work_queue_wait_seconds_count{{environment_id="{env_id}"}}'
    assert on_a.get(wait, 0) + on_b.get(wait, 0) == 1


def test_metric_names_follow_prometheus_conventions(server: ServerProcess) -> None:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    names = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.MULTILINE))
    for name, kind in names:
        if name.startswith("workyard_"):
            assert re.fullmatch(r"[a-z_]+", name), name
            if kind == "counter":
                assert name.endswith("_total"), name
            if kind == "histogram":
                assert name.endswith("_seconds"), name
