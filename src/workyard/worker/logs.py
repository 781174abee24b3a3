"""The worker's status log: one line per transition, as text or as JSON objects.

Text lines read ``<UTC time> <work id or "worker"> <message>``; ``--log-format json`` writes one
object per line with ``time``, ``level``, ``event``, ``work_id``, ``message`` and the event's own
fields. Every line the worker writes is built by one method of :class:`StatusLog`, so the exact
wording lives here (and in docs/worker.md).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TextIO

from workyard.client import APIConnectionError, APIError

__all__ = [
    "FieldValue",
    "LogFormat",
    "LogRecord",
    "StatusLog",
    "describe_error",
    "format_json",
    "format_text",
]

LogFormat = Literal["text", "json"]
FieldValue = str | int | float | bool | None

_SHORT = {
    400: "invalid request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    409: "conflict",
    412: "precondition failed",
    429: "rate limited",
    503: "overloaded",
    529: "overloaded",
}


def describe_error(error: BaseException) -> str:
    """A short reason for a log line: ``412 precondition failed``, ``connection error: …``."""
    if isinstance(error, APIConnectionError):
        return f"connection error: {error.message}"
    if isinstance(error, APIError):
        return f"{error.status} {_SHORT.get(error.status, 'server error')}"
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _detail(error: BaseException) -> str:
    """The error's own message (an API error's, without status and request id)."""
    return error.detail if isinstance(error, APIError) else str(error)


@dataclass(frozen=True)
class LogRecord:
    """One status line before formatting."""

    event: str
    message: str
    work_id: str | None = None
    level: str = "info"
    time: float = 0.0
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


def _iso(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z"


def format_text(record: LogRecord) -> str:
    """``2026-07-01T08:00:00.123Z work_… acked`` (``worker`` when no item is concerned)."""
    return f"{_iso(record.time)} {record.work_id or 'worker'} {record.message}"


def format_json(record: LogRecord) -> str:
    """One JSON object on one line; the event's fields never override the common keys."""
    obj: dict[str, FieldValue] = {
        "time": _iso(record.time),
        "level": record.level,
        "event": record.event,
        "work_id": record.work_id,
        "message": record.message,
    }
    for key, value in record.fields.items():
        obj.setdefault(key, value)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class StatusLog:
    """Writes status lines to ``stream`` (default: standard error), one ``write`` per line."""

    def __init__(
        self,
        fmt: LogFormat = "text",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fmt: LogFormat = fmt
        self._stream = stream
        self._clock = clock

    def emit(
        self,
        event: str,
        message: str,
        *,
        work_id: str | None = None,
        level: str = "info",
        **fields: FieldValue,
    ) -> None:
        record = LogRecord(event, message, work_id, level, self._clock(), fields)
        line = format_json(record) if self.fmt == "json" else format_text(record)
        stream = self._stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()

    # worker ------------------------------------------------------------------------------------
    def started(
        self, worker_id: str, environment_id: str, concurrency: int, ttl: int, grace: float
    ) -> None:
        self.emit(
            "worker_started",
            f"{worker_id} polling {environment_id} "
            f"(concurrency {concurrency}, ttl {ttl}s, grace {grace:g}s)",
            worker_id=worker_id,
            environment_id=environment_id,
            concurrency=concurrency,
            ttl=ttl,
            grace=grace,
        )

    def poll_failed(self, error: BaseException, retry_in: float) -> None:
        reason = describe_error(error)
        self.emit(
            "poll_failed",
            f"poll failed ({reason}) — retrying in {retry_in:.1f}s",
            level="warning",
            reason=reason,
            error=_detail(error),
            retry_in=round(retry_in, 3),
        )

    def poll_recovered(self, failures: int) -> None:
        self.emit("poll_recovered", f"poll ok again after {failures} failure(s)", failures=failures)

    def fatal(self, error: BaseException) -> None:
        reason = describe_error(error)
        self.emit(
            "worker_fatal",
            f"giving up: the server refused the poll ({reason}): {_detail(error)}",
            level="error",
            reason=reason,
            error=_detail(error),
        )

    def shutting_down(self, running: int, grace: float) -> None:
        self.emit(
            "worker_shutdown",
            f"shutting down: no new work; waiting up to {grace:g}s for {running} running item(s)",
            running=running,
            grace=grace,
        )

    def forced(self, running: int) -> None:
        self.emit(
            "worker_forced",
            f"second signal: killing {running} running item(s) and exiting now",
            level="error",
            running=running,
        )

    def idle_exit(self, seconds: float) -> None:
        self.emit("worker_idle", f"no work for {seconds:g}s (--max-idle): exiting", seconds=seconds)

    def max_items_reached(self, handled: int) -> None:
        self.emit(
            "worker_max_items", f"handled {handled} item(s) (--max-items): exiting", handled=handled
        )

    def orphan_found(self, work_id: str, path: str) -> None:
        self.emit(
            "orphan_found",
            f"work directory {path} left by a worker that died — running the post-run hook",
            work_id=work_id,
            level="warning",
            path=path,
        )

    def exited(self, handled: int) -> None:
        self.emit("worker_stopped", f"stopped after {handled} item(s)", handled=handled)

    # items -------------------------------------------------------------------------------------
    def acked(self, work_id: str, session_id: str | None) -> None:
        self.emit("acked", "acked", work_id=work_id, session_id=session_id)

    def ack_refused(self, work_id: str, error: BaseException) -> None:
        reason = describe_error(error)
        self.emit(
            "ack_refused",
            f"ack refused ({reason}) — skipped",
            work_id=work_id,
            level="warning",
            reason=reason,
            error=_detail(error),
        )

    def active(self, work_id: str) -> None:
        self.emit("active", "active", work_id=work_id)

    def stopping(self, work_id: str, reason: str) -> None:
        self.emit("stopping", f"stopping ({reason})", work_id=work_id, reason=reason)

    def stopped(self, work_id: str, exit_code: int | None, seconds: float) -> None:
        code = "-" if exit_code is None else str(exit_code)
        self.emit(
            "stopped",
            f"stopped exit={code} in {seconds:.1f}s",
            work_id=work_id,
            exit_code=exit_code,
            seconds=round(seconds, 3),
        )

    def lease_lost(self, work_id: str, reason: str, action: str) -> None:
        self.emit(
            "lease_lost",
            f"LEASE LOST ({reason}) — {action}, leaving the item to another worker",
            work_id=work_id,
            level="error",
            reason=reason,
        )

    def heartbeat_failed(
        self, work_id: str, error: BaseException, retry_in: float, lost_in: float
    ) -> None:
        reason = describe_error(error)
        self.emit(
            "heartbeat_failed",
            f"heartbeat failed ({reason}) — retrying in {retry_in:.1f}s; "
            f"the lease is lost in {lost_in:.0f}s unless one succeeds",
            work_id=work_id,
            level="warning",
            reason=reason,
            error=_detail(error),
            retry_in=round(retry_in, 3),
            lost_in=round(lost_in, 3),
        )

    def heartbeat_recovered(self, work_id: str, failures: int) -> None:
        self.emit(
            "heartbeat_recovered",
            f"heartbeat ok again after {failures} failure(s)",
            work_id=work_id,
            failures=failures,
        )

    def no_item_credential(self, work_id: str) -> None:
        self.emit(
            "no_item_credential",
            "the server gave no item credential (secret): commands get the worker's own token "
            "as WORKYARD_TOKEN — upgrade the server to give them only their item's",
            work_id=work_id,
            level="warning",
        )

    def hook_done(
        self, work_id: str, name: str, exit_code: int | None, timed_out: bool, seconds: float
    ) -> None:
        if timed_out:
            message, level = f"{name} hook timed out after {seconds:.1f}s — killed", "error"
        else:
            level = "info" if exit_code == 0 else "warning"
            message = f"{name} hook exit={exit_code} in {seconds:.1f}s"
        self.emit(
            "hook",
            message,
            work_id=work_id,
            level=level,
            hook=name,
            exit_code=exit_code,
            timed_out=timed_out,
            seconds=round(seconds, 3),
        )

    def output(self, work_id: str, stream: str, line: str) -> None:
        marker = "!" if stream == "stderr" else "|"
        self.emit("output", f"{marker} {line}", work_id=work_id, stream=stream, line=line)

    def killed(self, work_id: str, grace: float) -> None:
        self.emit(
            "killed",
            f"still running {grace:g}s after SIGTERM — sent SIGKILL",
            work_id=work_id,
            level="warning",
            grace=grace,
        )

    def interrupted(self, work_id: str, event_id: str) -> None:
        self.emit(
            "interrupted",
            f"user.interrupt {event_id} — sent SIGINT",
            work_id=work_id,
            event_id=event_id,
        )

    def events_reconnecting(self, work_id: str, reason: str, retry_in: float) -> None:
        self.emit(
            "events_reconnecting",
            f"session events: {reason} — reconnecting in {retry_in:.1f}s",
            work_id=work_id,
            level="warning",
            reason=reason,
            retry_in=round(retry_in, 3),
        )

    def events_dropped(self, work_id: str, count: int) -> None:
        self.emit(
            "events_dropped",
            f"{count} event(s) from the command's output were not posted",
            work_id=work_id,
            level="warning",
            count=count,
        )

    def retrying(self, work_id: str, what: str, error: BaseException, retry_in: float) -> None:
        reason = describe_error(error)
        self.emit(
            "retrying",
            f"{what} failed ({reason}) — retrying in {retry_in:.1f}s",
            work_id=work_id,
            level="warning",
            what=what,
            reason=reason,
            error=_detail(error),
            retry_in=round(retry_in, 3),
        )

    def failed(self, work_id: str, what: str, error: BaseException) -> None:
        reason = describe_error(error)
        if isinstance(error, APIError):
            message = f"{what} failed ({reason}): {error.detail}"
        else:
            message = f"{what} failed: {reason}"
        self.emit(
            "failed",
            message,
            work_id=work_id,
            level="error",
            what=what,
            reason=reason,
            error=_detail(error),
        )
