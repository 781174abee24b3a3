"""CLI helpers: metadata pairs, connection option resolution, error lines, argument checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from workyard.cli import environments, sessions, work
from workyard.cli.common import (
    CliError,
    format_error,
    metadata_patch,
    parse_metadata,
    resolve_data_dir,
    resolve_token,
    resolve_url,
    short_ts,
)
from workyard.client import APIConnectionError
from workyard.client._errors import status_error

runner = CliRunner()


def test_parse_metadata() -> None:
    assert parse_metadata(None) == {}
    assert parse_metadata(["a=1", "url=http://x/?q=1", "empty=", " sp = v "]) == {
        "a": "1",
        "url": "http://x/?q=1",
        "empty": "",
        " sp ": " v ",
    }
    assert parse_metadata(["k=1", "k=2"]) == {"k": "2"}


@pytest.mark.parametrize("pair", ["novalue", "=v", ""])
def test_parse_metadata_rejects_malformed_pairs(pair: str) -> None:
    with pytest.raises(typer.BadParameter, match="KEY=VALUE"):
        parse_metadata([pair])


def test_metadata_patch_sets_and_unsets() -> None:
    assert metadata_patch(["a=1", "b="], ["c"]) == {"a": "1", "b": "", "c": None}
    assert metadata_patch(None, None) == {}


def test_metadata_patch_rejects_conflicts_and_empty_keys() -> None:
    with pytest.raises(typer.BadParameter, match="both set and unset"):
        metadata_patch(["a=1"], ["a"])
    with pytest.raises(typer.BadParameter, match="empty"):
        metadata_patch(None, [""])


def test_resolve_url_and_data_dir() -> None:
    assert resolve_url("http://flag", {"WORKYARD_URL": "http://env"}) == "http://flag"
    assert resolve_url(None, {"WORKYARD_URL": "http://env"}) == "http://env"
    assert resolve_url(None, {}) == "http://127.0.0.1:8080"
    assert resolve_data_dir(Path("/d"), {"WORKYARD_DATA_DIR": "/e"}) == Path("/d")
    assert resolve_data_dir(None, {"WORKYARD_DATA_DIR": "/e"}) == Path("/e")
    assert resolve_data_dir(None, {}) == Path(".workyard")


def test_resolve_token_order(tmp_path: Path) -> None:
    (tmp_path / "admin.token").write_text("pt-file\n")
    env = {"WORKYARD_TOKEN": "pt-env", "QODER_PAT": "pt-qoder"}
    assert resolve_token("pt-flag", tmp_path, env) == "pt-flag"
    assert resolve_token(None, tmp_path, env) == "pt-env"
    assert resolve_token(None, tmp_path, {"QODER_PAT": "pt-qoder"}) == "pt-qoder"
    assert resolve_token(None, tmp_path, {}) == "pt-file"
    missing = tmp_path / "nothing-here"
    with pytest.raises(CliError, match=r"admin\.token"):
        resolve_token(None, missing, {})


def test_format_error_is_one_line_with_details() -> None:
    envelope = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "limit must be a positive integer",
            "param": "limit",
        },
    }
    error = status_error(400, envelope, {"x-request-id": "req-1"})
    assert format_error(error) == (
        "limit must be a positive integer "
        "(400 invalid_request_error, param: limit, request_id: req-1)"
    )
    bare = status_error(404, {"error": {"type": "not_found_error", "message": "Not found."}})
    assert format_error(bare) == "Not found. (404 not_found_error)"
    assert format_error(APIConnectionError(message="Could not reach x")) == "Could not reach x"


def test_short_ts() -> None:
    assert short_ts("2026-07-01T08:16:06.120394Z") == "2026-07-01 08:16:06"
    assert short_ts(None) == ""


def test_cli_without_token_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WORKYARD_TOKEN", "QODER_ACCESS_TOKEN", "QODER_PAT", "WORKYARD_URL"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(sessions.app, ["get", "sess_x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "No API token" in result.output
    assert "Traceback" not in result.output


def test_cli_rejects_bad_url_before_any_request(tmp_path: Path) -> None:
    result = runner.invoke(work.app, ["stats", "env_x", "--url", "ftp://x", "--token", "pt-x"])
    assert result.exit_code == 1
    assert "http:// or https://" in result.output


def test_cli_update_needs_something_to_change() -> None:
    result = runner.invoke(environments.app, ["update", "env_x", "--token", "pt-x"])
    assert result.exit_code == 1
    assert "Nothing to update" in result.output


def test_cli_rejects_malformed_metadata() -> None:
    result = runner.invoke(environments.app, ["create", "n", "--metadata", "oops", "--token", "t"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output


def test_cli_rejects_unknown_environment_type() -> None:
    result = runner.invoke(environments.app, ["create", "n", "--type", "managed"])
    assert result.exit_code == 2
