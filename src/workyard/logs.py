"""Server logs: text or JSON lines, each carrying the request it was logged for, and an access log.

While a request is served, :func:`begin` binds its ASGI scope to a context variable; every record
logged in that request's task (and tasks it starts) then carries ``request_id`` and, once the
caller is authenticated, ``token_id`` (the token's public id, never its secret) and ``worker_id``
(the ``Worker-ID`` header). :func:`access` writes the one access line per request, when it ends.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from workyard.config import Settings

__all__ = [
    "ACCESS_LOGGER",
    "FORMATS",
    "BufferedStreamHandler",
    "JsonFormatter",
    "RequestContextFilter",
    "TextFormatter",
    "access",
    "begin",
    "configure_logging",
    "flush",
    "set_token_id",
]

FORMATS = ("text", "json")
ACCESS_LOGGER = "workyard.access"

Scope = MutableMapping[str, Any]

_scope: ContextVar[Scope | None] = ContextVar("workyard_request_scope", default=None)
_access = logging.getLogger(ACCESS_LOGGER)

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CONTEXT = ("request_id", "token_id", "worker_id")


def begin(scope: Scope) -> None:
    """Bind ``scope`` as the current request of this task (call once, when the request starts)."""
    _scope.set(scope)


def set_token_id(scope: Scope, token_id: str) -> None:
    """Record who the request authenticated as (the token's id), for its log lines."""
    scope.setdefault("state", {})["token_id"] = token_id


def _worker_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"worker-id":
            text: str = value.decode("latin-1")
            return text[:128]
    return None


def _context(scope: Scope) -> dict[str, Any]:
    state = scope.get("state") or {}
    found = {"request_id": state.get("request_id"), "token_id": state.get("token_id")}
    found["worker_id"] = _worker_id(scope)
    return {k: v for k, v in found.items() if v is not None}


def access(scope: Scope, route: str, status: int, duration_s: float) -> None:
    """Log the access line of a finished request (a long poll or stream: when it ended)."""
    if not _access.isEnabledFor(logging.INFO):
        return
    method = scope.get("method", "")
    ms = round(duration_s * 1000, 3)
    fields = {"method": method, "route": route, "status": status, "duration_ms": ms}
    fields.update(_context(scope))
    direct = _direct_handler()
    if direct is None:  # logging is configured otherwise: the standard path, every hook honoured
        _access.info("%s %s %d %.1fms", method, route, status, ms, extra=fields)
        return
    # The default configuration: the same line, without a LogRecord, filters and handler walk
    # (most of an access line's cost, and a cheap request's largest single cost).
    handler, formatter = direct
    message = "%s %s %d %.1fms" % (method, route, status, ms)  # noqa: UP031 (the same text)
    handler.append(formatter.line(time.time(), "INFO", ACCESS_LOGGER, message, fields))


def _direct_handler() -> tuple[BufferedStreamHandler, _LineFormatter] | None:
    """The one handler an access record would reach and its formatter, if both are ours and
    nothing else would see or change the record on the way; else ``None``."""
    root = logging.root
    if _access.filters or len(root.handlers) != 1:
        return None
    logger: logging.Logger | None = _access
    while logger is not None and logger is not root:
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    handler = root.handlers[0]
    if type(handler) is not BufferedStreamHandler or handler.level > logging.INFO:
        return None
    formatter = handler.formatter
    if not isinstance(formatter, _LineFormatter):
        return None
    if any(type(f) is not RequestContextFilter for f in handler.filters):
        return None
    return handler, formatter


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``/``token_id``/``worker_id`` of the current request to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _scope.get()
        if scope is not None and not hasattr(record, "request_id"):  # access lines have them
            for key, value in _context(scope).items():
                setattr(record, key, value)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(created: float) -> str:
    whole = int(created)
    millis = int((created - whole) * 1000)
    global _head
    second, head = _head  # one tuple: threads never see a second with another second's text
    if whole != second:  # lines mostly share their second: format it once per second
        head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _head = (whole, head)
    return f"{head}.{millis:03d}Z"


_head: tuple[int, str] = (-1, "")


class _LineFormatter(logging.Formatter):
    """Our formatters: a record's line is :meth:`line` of its parts (the access log calls it
    directly, without a record)."""

    def format(self, record: logging.LogRecord) -> str:
        exc = self.formatException(record.exc_info) if record.exc_info else None
        message = record.getMessage()
        return self.line(
            record.created, record.levelname, record.name, message, _fields(record), exc
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        exc: str | None = None,
    ) -> str:
        raise NotImplementedError


class JsonFormatter(_LineFormatter):
    """One JSON object per line: ts, level, logger, message, then the record's extra fields."""

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        exc: str | None = None,
    ) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(created),
            "level": level.lower(),
            "logger": logger,
            "message": message,
        }
        for key, value in fields.items():
            line.setdefault(key, value)
        if exc:
            line["exc"] = exc
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(_LineFormatter):
    """``<ts> LEVEL logger: message key=value …`` (the request's ids first)."""

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        exc: str | None = None,
    ) -> str:
        text = f"{_timestamp(created)} {level} {logger}: " + message.rstrip()
        if logger != ACCESS_LOGGER:  # the access message already says method/route/status
            ordered = [k for k in _CONTEXT if k in fields] + [
                k for k in fields if k not in _CONTEXT
            ]
            text += "".join(f" {k}={fields[k]}" for k in ordered)
        else:
            text += "".join(f" {k}={fields[k]}" for k in _CONTEXT if k in fields)
        if exc:
            text += "\n" + exc
        return text


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes info lines in batches instead of one write per line.

    An access line per request made the ``write`` and ``flush`` system calls of a plain
    ``StreamHandler`` a large share of a cheap request's cost. Lines are kept in memory and
    written when a warning or error arrives, when 64 KiB are waiting, every ``interval`` seconds
    (a daemon thread), and at exit (``logging.shutdown`` flushes every handler). A process killed
    with SIGKILL loses at most ``interval`` seconds of info lines.
    """

    def __init__(self, stream: Any = None, interval: float = 0.2) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._size = 0
        self._interval = interval
        self._closed = threading.Event()
        threading.Thread(target=self._flush_now_and_then, daemon=True, name="log-flush").start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._add(line, record.levelno >= logging.WARNING)

    def append(self, line: str) -> None:
        """Add one info line formatted by the caller (the access log's direct path)."""
        self.acquire()
        try:
            self._add(line + self.terminator, False)
        finally:
            self.release()

    def _add(self, line: str, now: bool) -> None:
        self._lines.append(line)
        self._size += len(line)
        if now or self._size >= 65536:
            self._write()

    def _write(self) -> None:
        if not self._lines:
            return
        lines, self._lines, self._size = self._lines, [], 0
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except (OSError, ValueError):  # the stream is gone (a closed pipe): drop the lines
            return

    def flush(self) -> None:
        self.acquire()
        try:
            self._write()
        finally:
            self.release()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def _flush_now_and_then(self) -> None:
        while not self._closed.wait(self._interval):
            if self._lines:
                self.flush()


def flush() -> None:
    """Write every waiting line now (before a process ends without running ``atexit``)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def configure_logging(settings: Settings) -> None:
    """Send every log record to stderr in ``settings.log_format``; raises ValueError if unknown."""
    if settings.log_format not in FORMATS:
        raise ValueError(f"WORKYARD_LOG_FORMAT must be text or json, not {settings.log_format!r}")
    handler = BufferedStreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, BufferedStreamHandler):
            old.close()  # its lines are written, its flushing thread ends
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    _access.setLevel(logging.NOTSET if settings.access_log else logging.WARNING)
