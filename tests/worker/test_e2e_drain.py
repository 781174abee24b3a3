"""Two workers with ``--concurrency 4`` drain a queue of 100 sessions: each item runs once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerProcess
from tests.worker.harness import api, self_hosted, start_worker, workers

SESSIONS = 100

pytestmark = pytest.mark.e2e


def test_two_workers_drain_the_queue_each_item_exactly_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        sessions = [client.sessions.create(env.id) for _ in range(SESSIONS)]
        options = ("--concurrency", "4", "--until-empty", "--log-format", "json")
        for name in ("A", "B"):
            worker = start_worker(server, tmp_path, name, ["true"], *options, environment_id=env.id)
            started.append(worker)
        for worker in started:
            assert worker.wait(timeout=180) == 0, worker.log()

        items = list(client.work.list_all(env.id))
        expected = {session.work_id for session in sessions}
        assert {item.id for item in items} == expected  # no item was re-queued as a new one
        assert len(items) == SESSIONS
        assert all(item.state == "stopped" for item in items)
        assert all(item.metadata["exit_code"] == "0" for item in items)
        ran_by = {item.id: item.metadata["worker_id"] for item in items}

        acked = {w.name: [e["work_id"] for e in w.events("acked")] for w in started}
        stopped = [e["work_id"] for w in started for e in w.events("stopped")]
        every_ack = acked["A"] + acked["B"]
        assert Counter(every_ack) == Counter(expected)  # each acked once, by one worker
        assert Counter(stopped) == Counter(expected)  # and stopped once
        for name, ids in acked.items():
            assert all(ran_by[work_id] == name for work_id in ids)
        assert not any(w.events("lease_lost") or w.events("ack_refused") for w in started)
        assert sum(w.events("worker_stopped")[0]["handled"] for w in started) == SESSIONS
