"""Losing a lease to another worker, and keeping it across a server restart."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ServerProcess, start_server
from tests.worker.harness import (
    api,
    process_gone,
    self_hosted,
    sh,
    start_worker,
    wait_until,
    workers,
)

# The first run (on any worker) records its pid and blocks; every later run exits 0 at once.
FIRST_BLOCKS = (
    'if [ -e "$OUT/first" ]; then echo second run; exit 0; fi; '
    'echo $$ > "$OUT/first"; exec sleep 600'
)

pytestmark = pytest.mark.e2e


def test_a_lost_lease_kills_the_command_and_leaves_the_item_to_another_worker(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        assert session.work_id is not None
        work_id = session.work_id
        options = ("--log-format", "json")
        a = start_worker(
            server, tmp_path, "A", sh(FIRST_BLOCKS), "--ttl", "10", *options,
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(a)
        pid = int(wait_until(lambda: _read(out / "first"), "A's command to start"))
        a.wait_event("active", work_id)
        b = start_worker(
            server, tmp_path, "B", sh(FIRST_BLOCKS), "--once", *options,
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(b)
        b.wait_event("worker_started")  # B is polling; A is full (concurrency 1) and is not

        server.advance(11)  # past A's 10 s lease: the item goes back to the queue, B takes it
        lost = a.wait_event("lease_lost", work_id)
        assert lost["reason"] in {"412 precondition failed", "409 conflict"}
        assert lost["message"] == (
            f"LEASE LOST ({lost['reason']}) — killed command, leaving the item to another worker"
        )
        assert wait_until(lambda: process_gone(pid), "A's command to be killed")
        assert b.wait() == 0, b.log()

        item = client.work.retrieve(env.id, work_id)
        assert item.state == "stopped"
        assert item.metadata == {"exit_code": "0", "worker_id": "B"}
        assert any(e["line"] == "second run" for e in b.events("output"))
        assert [e["work_id"] for e in b.events("stopped")] == [work_id]
        assert not a.events("stopped")  # A never stopped (nor touched) the item it lost
        a.signal(signal.SIGTERM)
        assert a.wait() == 0, a.log()
        assert a.events("worker_stopped")[0]["handled"] == 1


def test_the_worker_survives_a_server_restart_and_keeps_its_lease(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    data = tmp_path / "data"
    script = (
        'touch "$OUT/started-$WORKYARD_WORK_ID"; while [ ! -e "$OUT/release" ]; do sleep 0.05; done'
    )
    with ExitStack() as stack:
        old = start_server(data, "--manual-clock")
        stack.callback(old.stop)
        started = stack.enter_context(workers())
        old_client = stack.enter_context(api(old))
        env = self_hosted(old_client)
        first = old_client.sessions.create(env.id)
        assert first.work_id is not None
        worker = start_worker(
            old, tmp_path, "w-restart", sh(script),
            "--concurrency", "2", "--ttl", "30", "--log-format", "json",
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(worker)
        worker.wait_event("active", first.work_id)
        wait_until(lambda: (out / f"started-{first.work_id}").exists(), "the first command")
        before = old_client.work.retrieve(env.id, first.work_id)

        old.stop()
        worker.wait_event("poll_failed")  # its free slot keeps polling, and backs off
        # Same data, same port. The new server's manual clock starts at the real time, a few
        # seconds after the old one's: well within the 30 s lease.
        new = start_server(data, "--manual-clock", port=urlsplit(old.url).port or 0)
        stack.callback(new.stop)
        client = stack.enter_context(api(new))
        second = client.sessions.create(env.id)
        assert second.work_id is not None
        worker.wait_event("poll_recovered")
        wait_until(lambda: (out / f"started-{second.work_id}").exists(), "the second command")

        def heartbeat_after_restart() -> bool:
            item = client.work.retrieve(env.id, before.id)
            return item.latest_heartbeat_at != before.latest_heartbeat_at

        # The next heartbeat (every ttl / 3 = 10 s) echoes the old server's last_heartbeat.
        wait_until(heartbeat_after_restart, "a heartbeat accepted by the new server")
        (out / "release").touch()
        worker.wait_event("stopped", first.work_id)
        worker.wait_event("stopped", second.work_id)
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.log()

        items = list(client.work.list_all(env.id))
        assert sorted(item.id for item in items) == sorted([first.work_id, second.work_id])
        kept = client.work.retrieve(env.id, first.work_id)
        assert kept.state == "stopped"
        assert kept.acknowledged_at == before.acknowledged_at  # never expired, never re-acked
        assert kept.metadata == {"exit_code": "0", "worker_id": "w-restart"}
        assert [e["work_id"] for e in worker.events("acked")].count(first.work_id) == 1
        assert [e["work_id"] for e in worker.events("stopped")].count(first.work_id) == 1
        assert not worker.events("lease_lost")


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None
