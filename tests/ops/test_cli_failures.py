"""Operational failures end with one line on stderr and a non-zero status, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.ops.cli_support import clean_env, run_cli
from tests.pg import PG_URL, require_postgres
from workyard.service.auth import is_token_format


def _one_line_error(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    assert result.returncode == status, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_a_taken_port_is_reported_before_anything_is_created(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        result = run_cli("serve", "--port", str(port), "--data-dir", str(data))
    assert f"127.0.0.1:{port} is already in use" in _one_line_error(result)
    assert not data.exists()


def test_an_unsupported_database_url(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", "--database-url", "mysql://db/wy")
    assert "unsupported database URL mysql" in _one_line_error(result)


def test_an_unreachable_postgresql(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://wy:secret@127.0.0.1:{port}/wy"
    line = _one_line_error(run_cli("serve", "--port", "0", "--database-url", url))
    assert "cannot open the database" in line and "secret" not in line


def test_a_missing_postgresql_database() -> None:
    require_postgres()
    url = PG_URL.rsplit("/", 1)[0] + "/workyard_no_such_database"
    line = _one_line_error(run_cli("serve", "--port", "0", "--database-url", url))
    assert "does not exist" in line
    assert "does not exist" in _one_line_error(run_cli("db", "status", "--database-url", url))


def test_db_copy_refuses_a_source_that_does_not_exist(tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    result = run_cli(
        "db", "copy", "--from", f"sqlite:///{tmp_path / 'nope.db'}", "--to", f"sqlite:///{target}"
    )
    assert "no SQLite database" in _one_line_error(result)
    assert not target.exists()


def test_token_commands_on_an_unsupported_url() -> None:
    line = _one_line_error(run_cli("token", "list", "--database-url", "redis://x"))
    assert "unsupported database URL" in line


def test_version_and_short_help() -> None:
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("workyard ")
    short = run_cli("-h")
    assert short.returncode == 0 and "Usage: workyard" in short.stdout
    assert run_cli("serve", "-h").stdout == run_cli("serve", "--help").stdout


def test_python_dash_m_workyard() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workyard", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert result.returncode == 0 and result.stdout == run_cli("--version").stdout


def test_token_generate_prints_a_fresh_valid_token() -> None:
    first, second = run_cli("token", "generate"), run_cli("token", "generate")
    assert first.returncode == 0 and is_token_format(first.stdout.strip())
    assert first.stdout != second.stdout


def test_db_prune_dry_run_and_bad_ages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wy.db'}"
    dry = run_cli("db", "prune", "--dry-run", "--database-url", url)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == "would delete: 0 work_items, 0 sessions, 0 events"
    done = run_cli("db", "prune", "--older-than", "7d", "--database-url", url)
    assert done.stdout.strip() == "deleted: 0 work_items, 0 sessions, 0 events"
    assert run_cli("db", "prune", "--older-than", "soon", "--database-url", url).returncode == 2
    off = clean_env(WORKYARD_RETENTION_DAYS="0")
    assert run_cli("db", "prune", "--database-url", url, env=off).returncode == 2
