"""Several ``workyard serve`` replicas on one PostgreSQL database behave as one server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import ServerProcess, replicas_on_postgres
from tests.pg import PG_URL


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    with replicas_on_postgres([tmp_path / f"r{i}" for i in range(3)]) as servers:
        yield servers


def _client(server: ServerProcess) -> httpx.Client:
    headers = {"authorization": f"Bearer {server.token}"}
    return httpx.Client(base_url=server.api, headers=headers, timeout=10)


def _env(server: ServerProcess) -> str:
    with _client(server) as http:
        response = http.post("/environments", json={"name": "r", "config": {"type": "self_hosted"}})
        response.raise_for_status()
        env_id: str = response.json()["id"]
        return env_id


def _blocked_poll_then_insert(
    http_a: httpx.Client, http_b: httpx.Client, env_id: str, worker: str, pool: ThreadPoolExecutor
) -> tuple[dict[str, Any] | None, str, float]:
    """Block a poll on A, then create a session on B; return (poll result, work id, spare time)."""
    sent = time.monotonic()
    poll = pool.submit(
        http_a.get,
        f"/environments/{env_id}/work/poll",
        params={"block_ms": 999},
        headers={"worker-id": worker},
    )

    def blocked() -> bool:
        stats = http_a.get(f"/environments/{env_id}/work/stats").json()
        return int(stats["workers_polling"]) >= int(worker[1:]) + 1

    # The poll is waiting on A once A counts its worker among those polling.
    assert _wait_until(blocked, 5)
    created = http_b.post("/sessions", json={"environment_id": env_id}).json()
    spare = 0.999 - (time.monotonic() - sent)  # poll time left when the insert was acknowledged
    return poll.result(timeout=5).json(), created["work_id"], spare


def test_long_poll_on_one_replica_wakes_for_a_session_created_on_another(
    replicas: list[ServerProcess],
) -> None:
    a, b, _ = replicas
    env_id = _env(a)
    woken = 0
    waiting: list[str] = []
    with _client(a) as http_a, _client(b) as http_b, ThreadPoolExecutor(1) as pool:
        for n in range(8):
            item, work_id, spare = _blocked_poll_then_insert(http_a, http_b, env_id, f"w{n}", pool)
            waiting.append(work_id)
            if item is None:
                # Only acceptable when the machine was so slow that the poll ran out first;
                # the item is then delivered by the next poll.
                assert spare < 0.05, f"poll {n} not woken although {spare:.3f}s were left"
                continue
            assert item["id"] == waiting.pop(0)
            woken += 1
    assert woken >= 4


def test_exactly_one_replica_delivers_each_item_and_stats_agree(
    replicas: list[ServerProcess],
) -> None:
    env_id = _env(replicas[0])
    clients = [_client(s) for s in replicas]
    try:
        created = {
            clients[i % 3].post("/sessions", json={"environment_id": env_id}).json()["work_id"]
            for i in range(30)
        }
        delivered: list[str] = []

        def drain(http: httpx.Client, worker: str) -> None:
            while True:
                response = http.get(
                    f"/environments/{env_id}/work/poll",
                    params={"block_ms": 200},
                    headers={"worker-id": worker},
                )
                item: dict[str, Any] | None = response.json()
                if item is None:
                    return
                delivered.append(item["id"])

        with ThreadPoolExecutor(6) as pool:
            for n, http in enumerate(clients * 2):
                pool.submit(drain, http, f"w{n}")
        assert sorted(delivered) == sorted(created)
        stats: list[dict[str, Any]] = []

        def agree() -> bool:
            stats[:] = [http.get(f"/environments/{env_id}/work/stats").json() for http in clients]
            return all(s == stats[0] for s in stats)

        # Poller sightings travel between replicas within about a second.
        assert _wait_until(agree, 5), stats
        assert stats[0]["workers_polling"] == 6
        # Delivered, never acked: pending for 5 s of real time, deliverable again after that.
        assert stats[0]["pending"] + stats[0]["depth"] == 30
    finally:
        for http in clients:
            http.close()


async def _terminate_backends(application_name: str) -> int:
    conn = await asyncpg.connect(PG_URL)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND pid <> pg_backend_pid()",
            application_name,
        )
        return len(rows)
    finally:
        await conn.close()


def _wait_until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)  # polling for recovery with an overall deadline
    return False


def test_replicas_recover_after_their_connections_are_severed(
    replicas: list[ServerProcess],
) -> None:
    env_id = _env(replicas[0])
    clients = [_client(s) for s in replicas]
    try:
        acknowledged = [
            clients[i % 3].post("/sessions", json={"environment_id": env_id}).json()["id"]
            for i in range(9)
        ]
        assert asyncio.run(_terminate_backends(replicas[0].schema)) >= 3
        for http in clients:
            # Every request either succeeds or answers 503 overloaded_error, never a 500.
            response = http.get(f"/environments/{env_id}/work/stats")
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert response.json()["error"]["type"] == "overloaded_error"

        def healthy() -> bool:
            return all(
                httpx.get(f"{s.url}/readyz").status_code == 200
                and http.get(f"/environments/{env_id}/work/stats").status_code == 200
                for s, http in zip(replicas, clients, strict=True)
            )

        assert _wait_until(healthy, 20), "replicas did not recover"
        for http in clients:
            listed = http.get("/sessions", params={"limit": 100}).json()["data"]
            assert {s["id"] for s in listed} >= set(acknowledged)
            assert http.get(f"/environments/{env_id}/work/stats").json()["depth"] == 9
        after = clients[1].post("/sessions", json={"environment_id": env_id})
        assert after.status_code == 201
    finally:
        for http in clients:
            http.close()
