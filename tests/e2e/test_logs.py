"""Server logs: JSON or text lines, the request id on every line of a request, the access log."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import ServerProcess, start_server
from workyard.cli.main import app as cli_app
from workyard.logs import JsonFormatter, RequestContextFilter, begin

_MISSING_ENV = "env_" + "0" * 32
# the CLI's own start-up lines, not log records
_ECHOED = ("workyard listening on ", "database: ", "event loop: ")


def _member_token(data_dir: Path) -> tuple[str, str]:
    """(token id, secret) of a member token created before the server's first start."""
    args = ["token", "create", "--name", "logs", "--kind", "member", "--json"]
    created = CliRunner().invoke(cli_app, [*args, "--data-dir", str(data_dir)])
    assert created.exit_code == 0, created.output
    record = json.loads(created.stdout)
    return record["id"], record["token"]


def _requests(server: ServerProcess, secret: str) -> None:
    headers = {"authorization": f"Bearer {secret}", "worker-id": "w-7"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=10) as http:
        missing = http.get(f"/environments/{_MISSING_ENV}", headers={"x-request-id": "find-me-1"})
        assert missing.status_code == 404
        created = http.post("/environments", json={"name": "l", "config": {"type": "self_hosted"}})
        assert created.status_code == 201
    anonymous = httpx.get(f"{server.url}/healthz", headers={"x-request-id": "find-me-2"})
    assert anonymous.status_code == 200


def _served_log(data_dir: Path, secret: str, **environ: str) -> str:
    """The log of a server with ``environ`` that answered :func:`_requests`, once stopped."""
    server = start_server(data_dir, environ=environ)
    try:
        _requests(server, secret)
    finally:
        server.stop()
    return server.log()


def _json_records(log: str) -> list[dict[str, Any]]:
    records = []
    for line in log.splitlines():
        if line.startswith(_ECHOED):
            continue
        record = json.loads(line)  # every other line is one JSON object
        assert {"ts", "level", "logger", "message"} <= record.keys(), record
        records.append(record)
    return records


@pytest.fixture
def member(tmp_path: Path) -> tuple[Path, str, str]:
    data_dir = tmp_path / "data"
    token_id, secret = _member_token(data_dir)
    return data_dir, token_id, secret


def test_json_access_lines_carry_the_request(member: tuple[Path, str, str]) -> None:
    data_dir, token_id, secret = member
    log = _served_log(data_dir, secret, WORKYARD_LOG_FORMAT="json")
    assert secret not in log
    access = [r for r in _json_records(log) if r["logger"] == "workyard.access"]
    (missing,) = [r for r in access if r.get("request_id") == "find-me-1"]
    assert missing["level"] == "info"
    assert missing["method"] == "GET"
    assert missing["route"].endswith("/environments/{environment_id}")
    assert missing["status"] == 404
    assert missing["token_id"] == token_id
    assert missing["worker_id"] == "w-7"
    assert isinstance(missing["duration_ms"], float) and missing["duration_ms"] >= 0
    (health,) = [r for r in access if r.get("request_id") == "find-me-2"]
    assert (health["route"], health["status"]) == ("/healthz", 200)
    assert "token_id" not in health and "worker_id" not in health
    assert sum(1 for r in access if r["method"] == "POST" and r["status"] == 201) == 1
    lifecycle = [r["message"] for r in _json_records(log) if r["logger"] == "workyard"]
    assert [m.split(":")[0] for m in lifecycle] == ["draining", "drained and stopped"]


def test_the_access_log_can_be_turned_off(member: tuple[Path, str, str]) -> None:
    data_dir, _, secret = member
    log = _served_log(data_dir, secret, WORKYARD_LOG_FORMAT="json", WORKYARD_ACCESS_LOG="false")
    assert [r for r in _json_records(log) if r["logger"] == "workyard.access"] == []


def test_text_access_lines(member: tuple[Path, str, str]) -> None:
    data_dir, token_id, secret = member
    log = _served_log(data_dir, secret, WORKYARD_LOG_FORMAT="text")
    assert secret not in log
    line = re.compile(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO workyard\.access: GET \S*/environments/"
        r"\{environment_id\} 404 [\d.]+ms request_id=find-me-1 token_id=(\S+) worker_id=w-7$",
        re.MULTILINE,
    )
    match = line.search(log)
    assert match is not None, log
    assert match.group(1) == token_id


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["serve", "--port", "0", "--data-dir", str(tmp_path)],
        env={"WORKYARD_LOG_FORMAT": "xml"},
    )
    assert result.exit_code == 2
    assert "WORKYARD_LOG_FORMAT must be text or json" in result.output
    assert not (tmp_path / "workyard.db").exists()


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("workyard.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


async def test_every_line_of_a_request_carries_its_ids(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured

    async def request(rid: str) -> None:
        scope: dict[str, Any] = {"state": {"request_id": rid}, "headers": [(b"worker-id", b"w")]}
        begin(scope)
        logger.info("before auth")
        scope["state"]["token_id"] = "tok_" + rid
        await asyncio.sleep(0)  # the two requests interleave
        logger.warning("after auth %s", rid, extra={"attempt": 2})

    await asyncio.gather(asyncio.create_task(request("r1")), asyncio.create_task(request("r2")))
    logger.info("outside any request")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    by_message = {line["message"]: line for line in lines}
    assert by_message["before auth"]["request_id"] in {"r1", "r2"}
    assert "token_id" not in by_message["before auth"]
    for rid in ("r1", "r2"):
        after = by_message[f"after auth {rid}"]
        assert (after["request_id"], after["token_id"], after["worker_id"]) == (
            rid,
            f"tok_{rid}",
            "w",
        )
        assert (after["level"], after["logger"], after["attempt"]) == (
            "warning",
            "workyard.test_logs",
            2,
        )
    assert "request_id" not in by_message["outside any request"]
