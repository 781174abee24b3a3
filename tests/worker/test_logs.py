"""The status lines, text and JSON, and the short error reasons in them."""

from __future__ import annotations

import io
import json

import pytest

from workyard.client import APIConnectionError
from workyard.client._errors import status_error
from workyard.worker.logs import LogRecord, StatusLog, describe_error, format_json, format_text

WORK = "work_0190a1b2c3d4e5f60718293a4b5c6d7e"
T0 = 1782892800.25  # 2026-07-01T08:00:00.250Z


def _log(fmt: str = "text") -> tuple[StatusLog, io.StringIO]:
    stream = io.StringIO()
    return StatusLog("json" if fmt == "json" else "text", stream, clock=lambda: T0), stream


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_text_lines_have_time_subject_and_message() -> None:
    record = LogRecord("acked", "acked", WORK, time=T0)
    assert format_text(record) == f"2026-07-01T08:00:00.250Z {WORK} acked"
    assert format_text(LogRecord("worker_stopped", "stopped", time=T0)).endswith(" worker stopped")


def test_the_lines_of_an_item_s_life_in_text() -> None:
    log, stream = _log()
    log.acked(WORK, "sess_1")
    log.active(WORK)
    log.output(WORK, "stdout", "hi")
    log.output(WORK, "stderr", "oops")
    log.stopping(WORK, "requested")
    log.stopped(WORK, 0, 3.21)
    log.stopped(WORK, None, 0.04)
    log.lease_lost(WORK, describe_error(status_error(412, "")), "killed command")
    messages = [line.split(" ", 2)[2] for line in _lines(stream)]
    assert messages == [
        "acked",
        "active",
        "| hi",
        "! oops",
        "stopping (requested)",
        "stopped exit=0 in 3.2s",
        "stopped exit=- in 0.0s",
        "LEASE LOST (412 precondition failed) — killed command, leaving the item to another worker",
    ]
    assert all(line.split(" ")[1] == WORK for line in _lines(stream))


def test_json_lines_carry_event_work_id_and_fields() -> None:
    log, stream = _log("json")
    log.stopped(WORK, 3, 1.5)
    log.output(WORK, "stdout", 'he said "hi" — ünïcode')
    log.poll_failed(APIConnectionError(message="refused"), 2.25)
    first, second, third = (json.loads(line) for line in _lines(stream))
    assert first == {
        "time": "2026-07-01T08:00:00.250Z",
        "level": "info",
        "event": "stopped",
        "work_id": WORK,
        "message": "stopped exit=3 in 1.5s",
        "exit_code": 3,
        "seconds": 1.5,
    }
    assert second["line"] == 'he said "hi" — ünïcode'
    assert second["stream"] == "stdout"
    assert third["event"] == "poll_failed"
    assert third["work_id"] is None
    assert third["level"] == "warning"
    assert third["retry_in"] == 2.25
    assert third["reason"] == "connection error: refused"


def test_fields_cannot_override_the_common_keys() -> None:
    record = LogRecord("x", "msg", WORK, time=T0, fields={"event": "forged", "line": "a"})
    obj = json.loads(format_json(record))
    assert obj["event"] == "x"
    assert obj["line"] == "a"


def test_a_line_with_newlines_stays_one_json_line() -> None:
    log, stream = _log("json")
    log.failed(WORK, "handler", RuntimeError("two\nlines"))
    (line,) = _lines(stream)
    assert json.loads(line)["error"] == "two\nlines"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (status_error(412, ""), "412 precondition failed"),
        (status_error(409, ""), "409 conflict"),
        (status_error(404, ""), "404 not found"),
        (status_error(401, ""), "401 authentication failed"),
        (status_error(503, ""), "503 overloaded"),
        (status_error(529, ""), "529 overloaded"),
        (status_error(502, ""), "502 server error"),
        (APIConnectionError(message="Could not reach x"), "connection error: Could not reach x"),
        (TimeoutError(), "timed out"),
        (ValueError("bad"), "ValueError: bad"),
    ],
)
def test_describe_error(error: BaseException, reason: str) -> None:
    assert describe_error(error) == reason
