"""The access line written directly (the default configuration) is the line the logging path
writes, in both formats; any other logging configuration takes the standard path."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from workyard.config import Settings
from workyard.logs import ACCESS_LOGGER, BufferedStreamHandler, access, configure_logging

_SCOPE: dict[str, Any] = {
    "method": "POST",
    "state": {"request_id": "req-1", "token_id": "tok_7"},
    "headers": [(b"worker-id", "w-\u00e9 \u2028".encode())],  # logged as its latin-1 text
}
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger(ACCESS_LOGGER).level)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if isinstance(handler, BufferedStreamHandler):
            handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    logging.getLogger(ACCESS_LOGGER).setLevel(saved[2])


def _handler(log_format: str, access_log: bool = True) -> tuple[BufferedStreamHandler, io.StringIO]:
    configure_logging(Settings(log_format=log_format, access_log=access_log))
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, BufferedStreamHandler)
    out = io.StringIO()
    handler.setStream(out)
    return handler, out


def _lines(handler: BufferedStreamHandler, out: io.StringIO) -> list[str]:
    handler.flush()
    return [_TS.sub("<ts>", line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_direct_line_is_the_logged_line(log_format: str, restore_logging: None) -> None:
    handler, out = _handler(log_format)
    access(_SCOPE, "/sessions/{session_id}/events", 201, 0.0123456)  # direct
    handler.addFilter(logging.Filter())  # a filter of another kind (it passes all): standard path
    access(_SCOPE, "/sessions/{session_id}/events", 201, 0.0123456)
    direct, logged = _lines(handler, out)
    assert direct == logged
    assert "req-1" in direct and "tok_7" in direct and "201" in direct


def test_a_handler_elsewhere_sees_every_access_line(restore_logging: None) -> None:
    handler, out = _handler("text")
    seen = io.StringIO()
    extra = logging.StreamHandler(seen)
    logging.getLogger("workyard").addHandler(extra)  # between the access logger and the root
    try:
        access(_SCOPE, "/healthz", 200, 0.001)
    finally:
        logging.getLogger("workyard").removeHandler(extra)
    assert "POST /healthz 200" in seen.getvalue()
    assert len(_lines(handler, out)) == 1  # and the root's handler still wrote it


def test_no_access_line_when_it_is_off(restore_logging: None) -> None:
    handler, out = _handler("text", access_log=False)
    access(_SCOPE, "/healthz", 200, 0.001)
    assert _lines(handler, out) == []
