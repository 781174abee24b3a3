"""deploy/: what can be checked without a container runtime or systemd running units."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import typer

from workyard.cli.common import DataDirOption  # noqa: F401 - the client-side variables' module
from workyard.cli.main import app
from workyard.config import SECRET_SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
FILES = [
    DEPLOY / "Dockerfile",
    DEPLOY / "compose.yaml",
    DEPLOY / "systemd" / "workyard.service",
    DEPLOY / "systemd" / "workyard-worker.service",
]
# Read by the client-side commands (cli/common.py) and set for worker commands (worker/command.py).
CLIENT_VARIABLES = {"WORKYARD_URL", "WORKYARD_TOKEN", "WORKYARD_WORK_ID"}


def _known_variables() -> set[str]:
    known = {f"WORKYARD_{f.name.upper()}" for f in fields(Settings)}
    known |= {f"WORKYARD_{name.upper()}_FILE" for name in SECRET_SETTINGS}
    command: Any = typer.main.get_command(app)
    for param in command.commands["worker"].commands["run"].params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            known.add(envvar)
    return known | CLIENT_VARIABLES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_workyard_variable_the_files_use_exists(path: Path) -> None:
    used = set(re.findall(r"WORKYARD_[A-Z_]+[A-Z]", path.read_text()))
    assert used, path
    assert used <= _known_variables(), used - _known_variables()


def test_compose_runs_postgres_two_servers_and_a_worker() -> None:
    yaml: Any = importlib.import_module("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "server-a", "server-b", "worker"}
    for name in ("server-a", "server-b"):
        env = services[name]["environment"]
        assert env["WORKYARD_DATABASE_URL"].startswith("postgresql://")
        assert env["WORKYARD_ADMIN_TOKEN_FILE"] == "/run/secrets/admin_token"
    assert "worker run" in services["worker"]["command"][0]


def _dockerfile_command() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert "HEALTHCHECK" in text and "/readyz" in text and 'VOLUME ["/data"]' in text
    assert re.search(r"^USER workyard$", text, re.MULTILINE)
    return [*entry, *cmd]


def test_the_image_command_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    command = _dockerfile_command()
    assert command == ["workyard", "serve", "--host", "0.0.0.0"]
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and "WORKYARD" not in k}
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(wheels), str(ROOT)],
        check=True, timeout=300, capture_output=True, env=clean,
    )  # fmt: skip
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    site = next(env_dir.glob("lib/python*/site-packages"))
    # The dependencies come from the running interpreter's environment; workyard from the wheel.
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    python = env_dir / "bin" / "python"
    wheel = next(wheels.glob("workyard-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)],
        check=True, timeout=300, capture_output=True, env=clean,
    )  # fmt: skip
    exe = env_dir / "bin" / command[0]
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, env=clean, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("workyard "), version.stderr
    helped = subprocess.run(
        [str(exe), *command[1:], "--help"], capture_output=True, text=True, env=clean, timeout=60
    )
    assert helped.returncode == 0 and "--host" in helped.stdout, helped.stderr
    where = subprocess.run(
        [str(python), "-c", "import workyard.api.docs as d; print(d.__file__)"],
        capture_output=True, text=True, env=clean, timeout=60,
    )  # fmt: skip
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr  # from the wheel
    assets = site / "workyard" / "api" / "static"
    assert (assets / "swagger-ui-bundle.js").is_file()
    assert (site / "workyard" / "store" / "sqlite" / "queries.sql").is_file()


@pytest.mark.parametrize("unit", ["workyard.service", "workyard-worker.service"])
def test_systemd_units_verify_and_are_hardened(unit: str, tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / unit).read_text()
    for setting in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
                    "StateDirectory=", "ProtectHome=yes", "PrivateTmp=yes"):  # fmt: skip
        assert setting in text, setting
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units' syntax is not verified here")
    # verify wants the executables to exist: point them at one that does.
    (tmp_path / unit).write_text(
        text.replace("/usr/local/bin/workyard", shutil.which("true") or "/bin/true").replace(
            "/usr/local/bin/my-agent", "/bin/true"
        )
    )
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Failed" not in result.stderr, result.stderr
