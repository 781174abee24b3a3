"""The first admin token from WORKYARD_ADMIN_TOKEN(_FILE), and *_FILE secrets in settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_server, workyard_command
from workyard.config import load_settings
from workyard.service.auth import new_token_secret


def test_secret_settings_read_their_file_without_the_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("postgresql://u:p@db/wy\n")
    token = tmp_path / "token"
    token.write_text("pt-" + "a" * 40 + "\r\n")
    settings = load_settings(
        {"WORKYARD_DATABASE_URL_FILE": str(secret), "WORKYARD_ADMIN_TOKEN_FILE": str(token)}
    )
    assert settings.database_url == "postgresql://u:p@db/wy"
    assert settings.admin_token == "pt-" + "a" * 40
    assert "pt-" not in repr(settings)


def test_a_setting_and_its_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("pt-x")
    env = {"WORKYARD_ADMIN_TOKEN": "pt-y", "WORKYARD_ADMIN_TOKEN_FILE": str(secret)}
    with pytest.raises(ValueError, match="not both"):
        load_settings(env)


def test_an_unreadable_secret_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_settings({"WORKYARD_DATABASE_URL_FILE": str(tmp_path / "missing")})


def test_only_secret_settings_have_a_file_variant(tmp_path: Path) -> None:
    port = tmp_path / "port"
    port.write_text("9999")
    assert load_settings({"WORKYARD_PORT_FILE": str(port)}).port == 8080


def test_a_given_admin_token_is_seeded_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token_secret()
    secret = tmp_path / "admin-secret"
    secret.write_text(token + "\n")
    monkeypatch.setenv("WORKYARD_ADMIN_TOKEN_FILE", str(secret))
    data = tmp_path / "data"
    server = start_server(data)
    try:
        assert token not in server.log() and "admin token" not in server.log()
        assert not (data / "admin.token").exists()
        headers = {"authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.api}/environments", headers=headers).status_code == 200
    finally:
        server.stop()
    # Once tokens exist, another given token seeds nothing: the first keeps working alone.
    other = new_token_secret()
    monkeypatch.delenv("WORKYARD_ADMIN_TOKEN_FILE")
    monkeypatch.setenv("WORKYARD_ADMIN_TOKEN", other)
    again = start_server(data)
    try:
        assert httpx.get(f"{again.api}/environments", headers=headers).status_code == 200
        wrong = {"authorization": f"Bearer {other}"}
        refused = httpx.get(f"{again.api}/environments", headers=wrong)
        assert refused.status_code == 401
    finally:
        again.stop()


@pytest.mark.parametrize("bad", ["hunter2", "pt-short", "pt-" + "a" * 40 + " x"])
def test_a_malformed_admin_token_is_refused_before_anything_is_created(
    tmp_path: Path, bad: str
) -> None:
    data = tmp_path / "data"
    result = subprocess.run(
        [*workyard_command(), "serve", "--port", "0", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_without_workyard_vars(), "WORKYARD_ADMIN_TOKEN": bad},
    )
    assert result.returncode == 2
    assert "WORKYARD_ADMIN_TOKEN must look like" in result.stderr
    assert bad not in result.stderr + result.stdout
    assert not data.exists()


def _without_workyard_vars() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WORKYARD_")}
