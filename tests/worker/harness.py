"""Start real ``workyard worker run`` processes against a real server, and read their logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.conftest import ServerProcess, workyard_command
from workyard.client import Client, Environment

T = TypeVar("T")

DEADLINE = 60.0  # seconds: an upper bound for conditions to become true, never a wait
_STEP = 0.05


def wait_until(condition: Callable[[], T | None], what: str, timeout: float = DEADLINE) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(_STEP)  # polling for a condition, not waiting for a timeout to elapse


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON status lines (``--log-format json``), optionally of one event."""
        found: list[dict[str, Any]] = []
        for line in self.log().splitlines():
            if not line.startswith("{"):
                continue
            obj: dict[str, Any] = json.loads(line)
            if event is None or obj.get("event") == event:
                found.append(obj)
        return found

    def wait_event(self, event: str, work_id: str | None = None) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            self.check_alive(f"event {event}")
            matches = [e for e in self.events(event) if work_id is None or e["work_id"] == work_id]
            return matches[0] if matches else None

        return wait_until(find, f"{self.name}: event {event} {work_id or ''}")

    def check_alive(self, waiting_for: str) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"worker {self.name} exited ({self.process.returncode}) before {waiting_for}:\n"
                + self.log()
            )

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = DEADLINE) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker {self.name} did not exit:\n{self.log()}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def worker_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any WORKYARD_* / QODER_PAT setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKYARD_")}
    env.pop("QODER_PAT", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def start_worker(
    server: ServerProcess,
    log_dir: Path,
    name: str,
    command: Sequence[str],
    *options: str,
    environment_id: str | None = None,
    env: Mapping[str, str] | None = None,
    pass_env: Sequence[str] | None = None,
) -> WorkerProcess:
    """``workyard worker run`` with ``--url``/``--token`` of ``server`` and ``--worker-id name``.

    The variables of ``env`` that are not the worker's own settings reach the command through
    ``--pass-env`` (a command gets only a minimal environment otherwise), or only those named
    in ``pass_env``.
    """
    argv = [*workyard_command(), "worker", "run", "--url", server.url, "--token", server.token]
    argv += ["--worker-id", name]
    if environment_id is not None:
        argv += ["--environment", environment_id]
    names = pass_env if pass_env is not None else list(env or {})
    for variable in names:
        if not variable.startswith(("WORKYARD_", "QODER_", "PYTHON")):
            argv += ["--pass-env", variable]
    argv += [*options, "--", *command]
    log_path = log_dir / f"worker-{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=worker_env(env), cwd=log_dir
        )
    return WorkerProcess(name, process, log_path)


@contextmanager
def workers() -> Iterator[list[WorkerProcess]]:
    """A list to register started workers in; any still running at the end is killed."""
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.kill()


@contextmanager
def api(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url, server.token) as client:
        yield client


def self_hosted(client: Client, name: str = "e2e") -> Environment:
    return client.environments.create(name, config={"type": "self_hosted"})


def process_gone(pid: int) -> bool:
    """True when no process ``pid`` exists any more (reaped by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def process_dead(pid: int) -> bool:
    """True when ``pid`` runs no more: gone, or a zombie nobody reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in {"Z", "X"}


def live_pids_running(marker: str) -> list[int]:
    """The live processes whose command line contains ``marker``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and not process_dead(int(entry.name)):
            found.append(int(entry.name))
    return found


def read_env(path: Path) -> dict[str, str]:
    """An ``env -0`` dump as a dict."""
    pairs = (item.split("=", 1) for item in path.read_bytes().decode().split("\0") if "=" in item)
    return dict(pairs)
