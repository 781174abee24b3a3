"""Three replicas on one PostgreSQL database, workers spread across them, 300 sessions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, replicas_on_postgres
from tests.worker.harness import api, self_hosted, start_worker, wait_until, workers

SESSIONS = 300
pytestmark = pytest.mark.e2e


@pytest.fixture
def three_replicas(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    with replicas_on_postgres([tmp_path / f"replica{i}" for i in range(3)]) as servers:
        yield servers


def test_workers_across_replicas_run_every_item_exactly_once(
    three_replicas: list[ServerProcess], tmp_path: Path
) -> None:
    with api(three_replicas[0]) as client, workers() as started:
        env = self_hosted(client)
        expected = {str(client.sessions.create(env.id).work_id) for _ in range(SESSIONS)}
        options = ("--concurrency", "4", "--until-empty", "--log-format", "json")
        for n, replica in enumerate(three_replicas * 2):
            name = f"w{n}"
            started.append(
                start_worker(replica, tmp_path, name, ["true"], *options, environment_id=env.id)
            )
        for worker in started:
            assert worker.wait(timeout=300) == 0, worker.log()

        items = list(client.work.list_all(env.id))
        assert {item.id for item in items} == expected
        assert all(item.state == "stopped" for item in items)
        acked = [e["work_id"] for w in started for e in w.events("acked")]
        stopped = [e["work_id"] for w in started for e in w.events("stopped")]
        assert Counter(acked) == Counter(expected)  # no item was ever acked by two workers
        assert Counter(stopped) == Counter(expected)  # and each was stopped exactly once
        ran_by = {item.id: item.metadata["worker_id"] for item in items}
        for worker in started:
            assert all(ran_by[e["work_id"]] == worker.name for e in worker.events("acked"))
        assert len({ran_by[i] for i in expected}) >= 3  # the work really was spread out

        def stats_agree() -> bool:
            stats = [
                httpx.get(
                    f"{r.api}/environments/{env.id}/work/stats",
                    headers={"authorization": f"Bearer {r.token}"},
                ).json()
                for r in three_replicas
            ]
            return all(s == stats[0] for s in stats) and stats[0]["depth"] == 0

        assert wait_until(stats_agree, "stats to agree across replicas", timeout=10)
