"""Run the real ``workyard`` command in a subprocess, without the caller's WORKYARD_* variables."""

from __future__ import annotations

import os
import subprocess

from tests.e2e.conftest import workyard_command

__all__ = ["clean_env", "run_cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKYARD_")}
    return env | extra


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*workyard_command(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env() if env is None else env,
    )
