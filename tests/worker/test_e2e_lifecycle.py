"""Lifecycle controls: a shutdown ends conversational commands at once, --max-items, health."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.worker.harness import api, read_env, self_hosted, sh, start_worker, wait_until, workers

pytestmark = pytest.mark.e2e


def test_a_shutdown_closes_the_input_of_a_conversational_command_at_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # Reads its input (session, then user events) until end of file; a SIGTERM would be noted.
    script = (
        'trap \'echo term > "$OUT/term"\' TERM; touch "$OUT/started"; '
        'while read -r line; do :; done; echo eof > "$OUT/eof"'
    )
    post = "sh -c 'env -0 > \"$OUT/post-$WORKYARD_END_REASON\"'"
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        worker = start_worker(
            server, tmp_path, "chat", sh(script), "--grace", "600", "--post-run", post,
            "--log-format", "json", environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(worker)
        wait_until(lambda: (out / "started").exists(), "the command to start")
        worker.wait_event("active", session.work_id)
        worker.signal(signal.SIGTERM)
        # With a 600 s grace, only the closed input can end the command within the deadline.
        assert worker.wait() == 0, worker.log()
        assert (out / "eof").read_text().strip() == "eof"
        assert not (out / "term").exists()
        assert read_env(out / "post-shutdown")["WORKYARD_EXIT_CODE"] == "0"
        assert not worker.events("killed")
        assert not worker.events("poll_recovered")  # the cut-short poll was no success
        assert worker.events("worker_stopped")[0]["message"] == "stopped after 1 item(s)"
        item = client.work.retrieve(env.id, session.work_id or "")
        assert item.state == "stopped"
        assert item.metadata["exit_code"] == "0"


def test_health_and_metrics_follow_the_items_until_max_items(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = (
        'touch "$OUT/started-$WORKYARD_WORK_ID"; '
        'while [ ! -e "$OUT/release-$WORKYARD_WORK_ID" ]; do sleep 0.05; done'
    )
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        first = client.sessions.create(env.id)
        worker = start_worker(
            server, tmp_path, "metered", sh(script), "--max-items", "2",
            "--health-addr", "127.0.0.1:0", "--log-format", "json",
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(worker)
        base = f"http://127.0.0.1:{worker.wait_event('health_listening')['port']}"
        wait_until(lambda: (out / f"started-{first.work_id}").exists(), "the first command")

        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["running"] == 1 and body["handled"] == 1
        assert isinstance(body["last_successful_poll"], float)
        metrics = _metrics(f"{base}/metrics")
        labels = f'{{environment_id="{env.id}",worker_id="metered"}}'
        assert metrics[f"workyard_worker_items_running{labels}"] == 1.0
        assert metrics[f"workyard_worker_items_acked_total{labels}"] == 1.0
        assert metrics[f"workyard_worker_lease_losses_total{labels}"] == 0.0
        assert metrics[f"workyard_worker_poll_errors_total{labels}"] == 0.0
        assert metrics[f"workyard_worker_last_successful_poll_timestamp_seconds{labels}"] > 0
        assert httpx.get(f"{base}/nope").status_code == 404

        (out / f"release-{first.work_id}").touch()
        worker.wait_event("stopped", first.work_id)
        second = client.sessions.create(env.id)
        wait_until(lambda: (out / f"started-{second.work_id}").exists(), "the second command")
        done = _metrics(f"{base}/metrics")[f"workyard_worker_items_done_total{labels}"]
        assert done == 1.0
        (out / f"release-{second.work_id}").touch()
        assert worker.wait() == 0, worker.log()
        assert worker.events("worker_max_items")[0]["handled"] == 2
        assert json.loads(json.dumps(worker.events("worker_stopped")))[0]["handled"] == 2


def _metrics(url: str) -> dict[str, float]:
    response = httpx.get(url)
    assert response.status_code == 200
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values
