"""``workyard worker run``: options, their environment variables, and argument checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workyard.cli.main import app

runner = CliRunner()

ENV = "env_0190a1b2c3d4e5f60718293a4b5c6d7e"


def test_help_documents_every_option_with_its_environment_variable() -> None:
    result = runner.invoke(app, ["worker", "run", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for variable in (
        "WORKYARD_ENVIRONMENT_ID",
        "WORKYARD_WORKER_CONCURRENCY",
        "WORKYARD_WORKER_ID",
        "WORKYARD_WORKER_TTL",
        "WORKYARD_WORKER_GRACE",
        "WORKYARD_WORKER_ONCE",
        "WORKYARD_WORKER_UNTIL_EMPTY",
        "WORKYARD_WORKER_LOG_FORMAT",
        "WORKYARD_URL",
        "WORKYARD_TOKEN",
        "WORKYARD_DATA_DIR",
        "QODER_PAT",
    ):
        assert variable in text, variable
    for flag in ("--environment", "--concurrency", "--worker-id", "--ttl", "--grace", "--once",
                 "--until-empty", "--log-format", "--url", "--token", "--data-dir"):  # fmt: skip
        assert flag in text, flag


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--once", "--until-empty"], "exclude each other"),
        (["--ttl", "5"], "--ttl"),
        (["--ttl", "601"], "--ttl"),
        (["--concurrency", "0"], "--concurrency"),
        (["--grace", "-1"], "--grace"),
        (["--log-format", "xml"], "--log-format"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(args: list[str], message: str) -> None:
    argv = ["worker", "run", "--environment", ENV, "--token", "pt-x", *args, "--", "true"]
    result = runner.invoke(app, argv, terminal_width=200)
    assert result.exit_code == 2
    assert message in result.output


def test_a_command_is_required() -> None:
    result = runner.invoke(app, ["worker", "run", "--environment", ENV, "--token", "pt-x"])
    assert result.exit_code == 2
    assert "COMMAND" in result.output


def test_the_environment_is_required_unless_set_in_the_environment() -> None:
    result = runner.invoke(app, ["worker", "run", "--token", "pt-x", "--", "true"], env={})
    assert result.exit_code == 2
    assert "--environment" in result.output


def test_a_worker_id_that_is_too_long_is_refused() -> None:
    argv = ["worker", "run", "-e", ENV, "--token", "pt-x", "--worker-id", "w" * 129, "--", "true"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 1
    assert "worker_id must be 1-128 printable characters" in result.output


def _setup_error(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run the worker with ``args``; it must refuse at start: one line, exit 1, no traceback."""
    argv = ["worker", "run", "--environment", ENV, "--token", "pt-x", *args, "--", "true"]
    result = runner.invoke(app, argv, env=env, terminal_width=400)
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_an_unwritable_work_directory_is_refused_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    line = _setup_error(["--workdir", str(blocker / "work")])
    assert line.startswith(f"Error: --workdir {blocker / 'work'}: cannot create or write there")


@pytest.mark.parametrize("flag", ["--pre-run", "--post-run"])
def test_a_hook_that_does_not_exist_is_refused_at_start(flag: str, tmp_path: Path) -> None:
    line = _setup_error([flag, f"{tmp_path}/no-such-hook --flag"])
    assert f"{tmp_path}/no-such-hook is not an executable file" in line


def test_a_missing_bwrap_is_refused_at_start(tmp_path: Path) -> None:
    line = _setup_error(["--sandbox", "bwrap"], env={"PATH": str(tmp_path)})
    assert "--sandbox bwrap needs bubblewrap" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cancel-signal", "SIGNOPE"], "--cancel-signal 'SIGNOPE': not a signal"),
        (["--sandbox-network", "off"], "--sandbox-network off needs --sandbox bwrap"),
        (["--health-addr", "nowhere"], "--health-addr 'nowhere': expected HOST:PORT"),
    ],
)
def test_other_confinement_options_are_checked_at_start(args: list[str], message: str) -> None:
    assert message in _setup_error(args)


def test_an_unknown_sandbox_is_a_usage_error() -> None:
    argv = ["worker", "run", "-e", ENV, "--token", "pt-x", "--sandbox", "docker", "--", "true"]
    result = runner.invoke(app, argv, terminal_width=200)
    assert result.exit_code == 2
    assert "--sandbox" in result.output and "docker" in result.output
    assert "Traceback" not in result.output


def test_help_documents_the_confinement_and_lifecycle_options() -> None:
    result = runner.invoke(app, ["worker", "run", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for flag, variable in [
        ("--pass-env", "WORKYARD_WORKER_PASS_ENV"),
        ("--inherit-env", "WORKYARD_WORKER_INHERIT_ENV"),
        ("--workdir", "WORKYARD_WORKER_WORKDIR"),
        ("--keep-workdir", "WORKYARD_WORKER_KEEP_WORKDIR"),
        ("--pre-run", "WORKYARD_WORKER_PRE_RUN"),
        ("--post-run", "WORKYARD_WORKER_POST_RUN"),
        ("--hook-timeout", "WORKYARD_WORKER_HOOK_TIMEOUT"),
        ("--sandbox", "WORKYARD_WORKER_SANDBOX"),
        ("--sandbox-network", "WORKYARD_WORKER_SANDBOX_NETWORK"),
        ("--max-idle", "WORKYARD_WORKER_MAX_IDLE"),
        ("--max-items", "WORKYARD_WORKER_MAX_ITEMS"),
        ("--cancel-signal", "WORKYARD_WORKER_CANCEL_SIGNAL"),
        ("--health-addr", "WORKYARD_WORKER_HEALTH_ADDR"),
    ]:
        assert flag in text and variable in text, flag
    assert "WORKYARD_SESSION_TOKEN" in text
