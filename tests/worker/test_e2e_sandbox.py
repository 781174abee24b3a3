"""``--sandbox bwrap``: each property proved from inside the sandbox by the command itself."""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ServerProcess
from tests.worker.harness import (
    WorkerProcess,
    api,
    live_pids_running,
    self_hosted,
    sh,
    start_worker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.e2e

# Connects to the server's port (bash's /dev/tcp): prints net:ok or net:blocked. (The
# sandbox hides $HOME, so the probes use only system programs.)
_CONNECT = (
    "if timeout 5 bash -c 'exec 3<>/dev/tcp/{host}/{port}' 2>/dev/null; "
    "then echo probe net:ok; else echo probe net:blocked; fi; "
)


@pytest.fixture(autouse=True)
def _bwrap() -> None:
    """The sandbox tests need bubblewrap: under CI its absence is a failure, not a skip."""
    if shutil.which("bwrap") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("bwrap is missing (CI installs the bubblewrap package)")
        pytest.skip("bwrap is not installed")


def _probes(worker: WorkerProcess) -> dict[str, str]:
    found: dict[str, str] = {}
    for event in worker.events("output"):
        line = event["line"]
        if line.startswith("probe ") and ":" in line:
            key, _, value = line.removeprefix("probe ").partition(":")
            found[key] = value
    return found


def test_the_sandboxed_command_reaches_only_its_work_directory(
    server: ServerProcess, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    host_tmp = Path("/tmp") / f"workyard-probe-{uuid.uuid4().hex}"
    host_tmp.write_text("host")
    outside = Path(__file__).resolve().parent / f".sandbox-probe-{uuid.uuid4().hex}"
    token_file = server.data_dir / "admin.token"
    assert token_file.read_text().strip() == server.token
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    script = (
        'if cat "$TOKEN_FILE" >/dev/null 2>&1; then echo probe token:read; '
        "else echo probe token:unreadable; fi; "
        'if touch "$OUTSIDE" 2>/dev/null; then echo probe outside:written; '
        "else echo probe outside:denied; fi; "
        "if touch here 2>/dev/null; then echo probe workdir:written; fi; "
        'if [ -e "$HOST_TMP" ]; then echo probe tmp:shared; else echo probe tmp:private; fi; '
        'echo "probe home:$(ls -A "$HOME" | wc -l)"; '
        'echo "probe procs:$(ls /proc | grep -c "^[0-9]")"; '
        + _CONNECT.format(host=host, port=port)
        + "trap 'echo probe signal:term; exit 9' TERM; echo probe ready:yes; "
        "while :; do sleep 0.05; done"
    )
    env = {
        "TOKEN_FILE": str(token_file),
        "OUTSIDE": str(outside),
        "HOST_TMP": str(host_tmp),
    }
    try:
        with api(server) as client, workers() as started:
            environment = self_hosted(client)
            session = client.sessions.create(environment.id)
            worker = start_worker(
                server, tmp_path, "boxed", sh(script), "--once", "--sandbox", "bwrap",
                "--workdir", str(root), "--data-dir", str(server.data_dir), "--log-format",
                "json", environment_id=environment.id, env=env,
            )  # fmt: skip
            started.append(worker)
            wait_until(lambda: _probes(worker).get("ready"), "the sandboxed probes")
            client.work.stop(environment.id, session.work_id or "")
            assert worker.wait() == 0, worker.log()
            assert not outside.exists()
            probes = _probes(worker)
            assert int(probes["procs"]) < 10  # its own PID namespace: only its own processes
            assert probes == {
                "token": "unreadable",  # the worker's token file (its data dir) is masked
                "outside": "denied",  # the host is read-only
                "workdir": "written",
                "tmp": "private",
                "home": "0",  # an empty $HOME
                "procs": probes["procs"],
                "net": "ok",  # the network is on by default
                "ready": "yes",
                "signal": "term",  # the cancel signal reaches the command inside
            }
            item = client.work.retrieve(environment.id, session.work_id or "")
            assert item.metadata["exit_code"] == "9"
    finally:
        host_tmp.unlink()
        outside.unlink(missing_ok=True)


def test_without_network_and_killed_with_its_worker(server: ServerProcess, tmp_path: Path) -> None:
    marker = f"987.{uuid.uuid4().int % 10**6:06d}"  # a sleep duration no other process uses
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    script = (
        _CONNECT.format(host=host, port=port)
        + f"(sleep {marker} &); sleep {marker} & echo probe ready:yes; wait"
    )
    with api(server) as client, workers() as started:
        environment = self_hosted(client)
        client.sessions.create(environment.id)
        worker = start_worker(
            server, tmp_path, "offline", sh(script), "--sandbox", "bwrap",
            "--sandbox-network", "off", "--log-format", "json",
            environment_id=environment.id, env={},
        )  # fmt: skip
        started.append(worker)
        wait_until(lambda: _probes(worker).get("ready"), "the sandboxed command")
        assert _probes(worker)["net"] == "blocked"
        wait_until(lambda: len(live_pids_running(f"sleep {marker}")) >= 2, "the sleepers")
        worker.signal(signal.SIGKILL)
        worker.wait()
        wait_until(lambda: not live_pids_running(f"sleep {marker}"), "the sandbox to die")
