"""Reading a child's output line by line, into the worker's log (and an optional sink)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["MAX_LINE", "LineSplitter", "drain", "pump", "shell_exit_code"]

_CHUNK = 65536
MAX_LINE = 65536
_OUTPUT_DRAIN_SECONDS = 5.0  # after exit, how long a pipe held open by an escaped child may stay


def shell_exit_code(returncode: int) -> int:
    """A process status as a shell reports it: killed by signal N → 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class LineSplitter:
    """Splits a byte stream into text lines; a line longer than ``max_line`` bytes is cut."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buffer = bytearray()
        self._max_line = max_line

    def feed(self, data: bytes) -> list[str]:
        """The complete lines in ``data`` (and what came before it)."""
        self._buffer.extend(data)
        lines: list[str] = []
        while True:
            end = self._buffer.find(b"\n", 0, self._max_line + 1)
            if end >= 0:
                lines.append(_decode(self._buffer[:end]))
                del self._buffer[: end + 1]
            elif len(self._buffer) > self._max_line:
                lines.append(_decode(self._buffer[: self._max_line]))
                del self._buffer[: self._max_line]
            else:
                return lines

    def flush(self) -> list[str]:
        """The last, unterminated line (if any)."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        return [_decode(rest)] if rest else []


def _decode(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", errors="replace").removesuffix("\r")


async def pump(
    stream: asyncio.StreamReader, sink: Callable[[str], None], max_line: int = MAX_LINE
) -> None:
    """Hand each line of ``stream`` to ``sink`` until end of file."""
    splitter = LineSplitter(max_line)
    while chunk := await stream.read(_CHUNK):
        for line in splitter.feed(chunk):
            sink(line)
    for line in splitter.flush():
        sink(line)


async def drain(pumps: list[asyncio.Task[None]]) -> None:
    """Let the output pumps reach end of file, within reason; then stop them."""
    _, pending = await asyncio.wait(pumps, timeout=_OUTPUT_DRAIN_SECONDS)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
