"""``workyard worker run`` end to end: a real server, real workers, real commands."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerProcess
from tests.worker.harness import (
    WorkerProcess,
    api,
    process_dead,
    self_hosted,
    sh,
    start_worker,
    wait_until,
    workers,
)
from workyard.client import Client

pytestmark = pytest.mark.e2e


# A command that loops until a signal ends it; ``trap`` decides what it does on SIGTERM.
_LOOP = '{trap}; touch "$OUT/started"; while :; do sleep 0.05; done'


@dataclass
class _Looping:
    env_id: str
    session_id: str
    work_id: str
    worker: WorkerProcess
    out: Path


def _start_looping(
    server: ServerProcess, tmp_path: Path, client: Client, started: list[WorkerProcess],
    name: str, trap: str, *options: str,
) -> _Looping:  # fmt: skip
    """A session whose command (``_LOOP``) a ``--once`` worker is running (logs in JSON)."""
    out = tmp_path / "out"
    out.mkdir()
    env = self_hosted(client)
    session = client.sessions.create(env.id)
    assert session.work_id is not None
    worker = start_worker(
        server, tmp_path, name, sh(_LOOP.format(trap=trap)), "--once", *options,
        "--log-format", "json", environment_id=env.id, env={"OUT": str(out)},
    )  # fmt: skip
    started.append(worker)
    wait_until(lambda: (out / "started").exists(), "the command to start")
    return _Looping(env.id, session.id, session.work_id, worker, out)


def test_a_command_runs_and_its_exit_code_is_recorded(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = 'echo hi; cat > "$OUT/stdin.json"; env | grep ^WORKYARD_ | sort > "$OUT/env"; exit 3'
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id, title="hello", metadata={"job": "demo"})
        # Everything from the environment this time: URL, QODER_PAT (no WORKYARD_TOKEN), flags.
        # Without events (this command reads stdin to its end): the session JSON, then EOF.
        worker = start_worker(
            server,
            tmp_path,
            "laptop-1",
            sh(script),
            env={
                "WORKYARD_URL": server.url,
                "QODER_PAT": server.token,
                "WORKYARD_ENVIRONMENT_ID": env.id,
                "WORKYARD_WORKER_ONCE": "1",
                "WORKYARD_WORKER_EVENTS": "0",
                "OUT": str(out),
            },
        )
        started.append(worker)
        assert worker.wait() == 0, worker.log()

        assert session.work_id is not None
        item = client.work.retrieve(env.id, session.work_id)
        assert item.state == "stopped"
        assert item.metadata == {"job": "demo", "exit_code": "3", "worker_id": "laptop-1"}
        log = worker.log()
        assert f" {item.id} | hi\n" in log
        assert f" {item.id} acked\n" in log
        assert f" {item.id} active\n" in log
        assert f" {item.id} stopped exit=3 in " in log

        stdin = json.loads((out / "stdin.json").read_text())
        assert stdin["id"] == session.id
        assert stdin["title"] == "hello"
        variables = dict(
            line.split("=", 1) for line in (out / "env").read_text().splitlines() if "=" in line
        )
        assert variables["WORKYARD_URL"] == server.url
        # The item's credential, or the worker's token from a server that gives none (each path
        # is pinned down in test_session_token.py and test_fallback_inprocess.py).
        if "WORKYARD_SESSION_TOKEN" in variables:
            assert "WORKYARD_TOKEN" not in variables
            assert variables["WORKYARD_SESSION_TOKEN"] != server.token
        else:
            assert variables["WORKYARD_TOKEN"] == server.token
        assert variables["WORKYARD_ENVIRONMENT_ID"] == env.id
        assert variables["WORKYARD_WORK_ID"] == item.id
        assert variables["WORKYARD_SESSION_ID"] == session.id
        assert variables["WORKYARD_WORKER_ID"] == "laptop-1"
        assert variables["WORKYARD_EVENTS"] == "0"
        assert client.sessions.events.list(session.id).data == ()  # nothing was posted


def test_a_stop_request_reaches_the_command_as_sigterm(
    server: ServerProcess, tmp_path: Path
) -> None:
    trap = "trap 'echo TERM > \"$OUT/term\"; exit 7' TERM"
    with api(server) as client, workers() as started:
        run = _start_looping(server, tmp_path, client, started, "w-stop", trap, "--ttl", "10")
        env_id, work_id, worker = run.env_id, run.work_id, run.worker
        assert client.work.retrieve(env_id, work_id).state == "active"

        assert client.work.stop(env_id, work_id).state == "stopping"
        stopping = worker.wait_event("stopping", work_id)
        assert stopping["reason"] == "requested"
        assert stopping["message"] == "stopping (requested)"
        assert worker.wait() == 0, worker.log()

        assert (run.out / "term").read_text() == "TERM\n"
        item = client.work.retrieve(env_id, work_id)
        assert item.state == "stopped"
        assert item.metadata == {"exit_code": "7", "worker_id": "w-stop"}
        (stopped,) = worker.events("stopped")
        assert stopped["exit_code"] == 7
        assert not worker.events("killed")  # the trap exited well within --grace


def test_sigterm_lets_the_running_command_finish_then_exits_zero(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = (
        'trap \'echo TERM >> "$OUT/term"\' TERM; touch "$OUT/started"; '
        'while [ ! -e "$OUT/release" ]; do sleep 0.05; done; echo finished'
    )
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        first = client.sessions.create(env.id)
        worker = start_worker(
            server,
            tmp_path,
            "w-drain",
            sh(script),
            "--log-format",
            "json",
            environment_id=env.id,
            env={"OUT": str(out)},
        )
        started.append(worker)
        wait_until(lambda: (out / "started").exists(), "the command to start")

        worker.signal(signal.SIGTERM)
        shutdown = worker.wait_event("worker_shutdown")
        assert shutdown["running"] == 1
        later = client.sessions.create(env.id)  # must not be taken: the worker stopped polling
        (out / "release").touch()
        assert worker.wait() == 0, worker.log()

        assert not (out / "term").exists()  # finished on its own, within the grace period
        assert first.work_id is not None and later.work_id is not None
        item = client.work.retrieve(env.id, first.work_id)
        assert item.state == "stopped"
        assert item.metadata == {"exit_code": "0", "worker_id": "w-drain"}
        assert any(e["line"] == "finished" for e in worker.events("output"))
        untouched = client.work.retrieve(env.id, later.work_id)
        assert untouched.state == "queued"
        assert untouched.acknowledged_at is None
        assert worker.events("worker_stopped")[0]["handled"] == 1


def test_a_second_signal_kills_the_command_and_exits_at_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = (
        'trap \'echo TERM >> "$OUT/term"\' TERM; echo $$ > "$OUT/pid"; while :; do sleep 0.05; done'
    )
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        assert session.work_id is not None
        worker = start_worker(
            server,
            tmp_path,
            "w-force",
            sh(script),
            "--log-format",
            "json",
            environment_id=env.id,
            env={"OUT": str(out)},
        )
        started.append(worker)
        pid = int(wait_until(lambda: _read(out / "pid"), "the command to start"))

        worker.signal(signal.SIGTERM)
        worker.wait_event("worker_shutdown")
        worker.signal(signal.SIGINT)
        assert worker.wait() == 128 + signal.SIGINT, worker.log()

        assert worker.events("worker_forced")
        # The command's supervisor kills its group once the worker is gone (SIGKILL, not SIGTERM).
        wait_until(lambda: process_dead(pid), "the command to be killed")
        assert not (out / "term").exists()
        # No stop: the lease simply runs out on the server and the item will be redelivered.
        assert client.work.retrieve(env.id, session.work_id).state == "active"


def test_the_server_refusing_the_worker_is_fatal(server: ServerProcess, tmp_path: Path) -> None:
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        worker = start_worker(
            server,
            tmp_path,
            "w-bad",
            ["true"],
            "--log-format",
            "json",
            environment_id="env_0190a1b2c3d4e5f60718293a4b5c6d7e",
        )
        started.append(worker)
        assert worker.wait() == 1
        (fatal,) = worker.events("worker_fatal")
        assert fatal["reason"] == "404 not found"
        assert env.id  # the real environment exists; the worker named another one


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(
    server: ServerProcess, tmp_path: Path
) -> None:
    with api(server) as client, workers() as started:
        run = _start_looping(
            server, tmp_path, client, started, "w-kill", "trap '' TERM", "--ttl", "10",
            "--grace", "0",
        )  # fmt: skip
        client.work.stop(run.env_id, run.work_id)
        assert run.worker.wait() == 0, run.worker.log()

        (killed,) = run.worker.events("killed")
        assert killed["work_id"] == run.work_id
        item = client.work.retrieve(run.env_id, run.work_id)
        assert item.state == "stopped"
        assert item.metadata == {"exit_code": "137", "worker_id": "w-kill"}  # 128 + SIGKILL


def test_archiving_a_session_reaches_the_command_before_the_next_heartbeat(
    server: ServerProcess, tmp_path: Path
) -> None:
    # --ttl 600 puts the next heartbeat 200 s away, far past the harness's deadline: only the
    # stop check can bring the archive's stop request to the command in time.
    trap = "trap 'echo TERM > \"$OUT/term\"; exit 0' TERM"
    with api(server) as client, workers() as started:
        run = _start_looping(
            server, tmp_path, client, started, "w-archive", trap, "--ttl", "600",
            "--stop-check", "0.2",
        )  # fmt: skip
        worker = run.worker
        wait_until(lambda: worker.events("active"), "the first heartbeat")

        assert client.sessions.archive(run.session_id).status == "running"
        assert worker.wait_event("stopping", run.work_id)["reason"] == "requested"
        assert worker.wait() == 0, worker.log()
        assert (run.out / "term").read_text() == "TERM\n"
        assert client.work.retrieve(run.env_id, run.work_id).state == "stopped"
        assert client.sessions.retrieve(run.session_id).status == "idle"
