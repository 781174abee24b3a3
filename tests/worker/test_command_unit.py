"""The command runner's pure helpers: line splitting and exit statuses."""

from __future__ import annotations

from workyard.worker.command import LineSplitter, shell_exit_code


def test_lines_split_across_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"he") == []
    assert splitter.feed(b"llo\nwor") == ["hello"]
    assert splitter.feed(b"ld\r\n\nlast") == ["world", ""]
    assert splitter.flush() == ["last"]
    assert splitter.flush() == []


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert LineSplitter().feed(b"caf\xc3\xa9 \xff\n") == ["café \ufffd"]


def test_a_multibyte_character_split_across_chunks_survives() -> None:
    splitter = LineSplitter()
    assert splitter.feed("é".encode()[:1]) == []
    assert splitter.feed("é".encode()[1:] + b"\n") == ["é"]


def test_overlong_lines_are_cut() -> None:
    splitter = LineSplitter(max_line=4)
    assert splitter.feed(b"abcdefghij\nk") == ["abcd", "efgh", "ij"]
    assert splitter.flush() == ["k"]


def test_shell_exit_codes() -> None:
    assert shell_exit_code(0) == 0
    assert shell_exit_code(3) == 3
    assert shell_exit_code(-15) == 143  # SIGTERM
    assert shell_exit_code(-9) == 137  # SIGKILL
