"""The command's environment, cancel signals and work-directory markers, without a server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from workyard.worker.environ import EnvPolicy, ItemIds
from workyard.worker.sandbox import Bwrap
from workyard.worker.setup import SetupError, parse_signal
from workyard.worker.workdir import WorkDirs, process_identity

TOKEN = "pt-worker-secret-0123456789"
IDS = ItemIds("http://h:1", "env_1", "work_1", "sess_1", "w-1")
SOURCE = {
    "PATH": "/usr/bin",
    "HOME": "/home/a",
    "LC_ALL": "C.UTF-8",
    "OUT": "/out",
    "AWS_SECRET": "s3cr3t",
    "WORKYARD_TOKEN": TOKEN,
    "WORKYARD_URL": "http://h:1",
    "COPY": f"Bearer {TOKEN}",
}


def test_a_command_gets_a_minimal_environment_and_its_item_credential() -> None:
    env = EnvPolicy(("OUT", "COPY")).build(
        SOURCE, IDS, worker_token=TOKEN, session_token="wis-work_1.x"
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/a",
        "LC_ALL": "C.UTF-8",
        "OUT": "/out",  # passed with --pass-env; COPY carries the token: dropped
        "WORKYARD_URL": "http://h:1",
        "WORKYARD_ENVIRONMENT_ID": "env_1",
        "WORKYARD_WORK_ID": "work_1",
        "WORKYARD_SESSION_ID": "sess_1",
        "WORKYARD_WORKER_ID": "w-1",
        "WORKYARD_SESSION_TOKEN": "wis-work_1.x",
    }
    assert EnvPolicy(("OUT", "COPY")).leaks(SOURCE, TOKEN) == ["COPY"]


def test_inherit_passes_everything_but_the_worker_token_and_settings() -> None:
    env = EnvPolicy(inherit=True).build(SOURCE, IDS, worker_token=TOKEN, session_token="wis-1")
    assert env["AWS_SECRET"] == "s3cr3t"
    assert TOKEN not in "".join(env.values())
    assert "COPY" not in env


def test_without_an_item_credential_the_worker_token_is_passed_as_before() -> None:
    env = EnvPolicy().build(SOURCE, IDS, worker_token=TOKEN, session_token=None)
    assert env["WORKYARD_TOKEN"] == TOKEN
    assert "WORKYARD_SESSION_TOKEN" not in env
    none = EnvPolicy().build(SOURCE, IDS, worker_token=TOKEN, session_token=None, fallback=False)
    assert "WORKYARD_TOKEN" not in none


@pytest.mark.parametrize(
    ("text", "expected"),
    [("SIGTERM", signal.SIGTERM), ("usr1", signal.SIGUSR1), ("2", signal.SIGINT)],
)
def test_cancel_signals_by_name_or_number(text: str, expected: signal.Signals) -> None:
    assert parse_signal(text) == expected


@pytest.mark.parametrize("text", ["SIGNOPE", "999", ""])
def test_an_unknown_cancel_signal_is_a_setup_error(text: str) -> None:
    with pytest.raises(SetupError, match="--cancel-signal"):
        parse_signal(text)


def test_a_marker_of_a_dead_worker_is_an_orphan_and_a_live_one_is_not(tmp_path: Path) -> None:
    dirs = WorkDirs(tmp_path)
    dirs.check()
    mine = dirs.create("work_live", "sess_1", "env_1", "w-1")
    assert mine.is_dir() and not any(mine.iterdir())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    marker = {
        "work_id": "work_dead", "session_id": "s", "environment_id": "e", "worker_id": "w",
        "owner": f"{int(dead.stdout)}:1", "path": str(tmp_path / "work_dead"),
    }  # fmt: skip
    (tmp_path / ".work_dead.json").write_text(json.dumps(marker))
    (tmp_path / "work_dead").mkdir()
    assert [m.work_id for m in dirs.orphans()] == ["work_dead"]
    assert process_identity(os.getpid()) is not None
    dirs.finish("work_dead")
    dirs.finish("work_live")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_sandbox_binds_only_the_work_directory_writable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = tmp_path / "token"
    token.write_text("x")
    argv = Bwrap("/usr/bin/bwrap", network=False, masked=(home, token)).wrap(["agent"], home / "w")
    assert argv[:5] == ["/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev"]
    assert ["--tmpfs", str(home)] == argv[argv.index(str(home)) - 1 : argv.index(str(home)) + 1]
    assert "--unshare-net" in argv and "--unshare-pid" in argv and "--die-with-parent" in argv
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert binds == [str(home / "w")]
    assert argv[-2:] == ["--", "agent"]
    assert argv[-5:-3] == ["--", "env"] and argv[-3].startswith("--default-signal=TERM,INT")
