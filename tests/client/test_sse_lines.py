"""SSE line splitting (CR, LF and CRLF only) and JSON that no line splitter cuts."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from workyard.api.sse import format_event
from workyard.client._sse import SSELineDecoder, SSEParser, sse_lines
from workyard.domain.models import Event
from workyard.linesafe import line_safe_json

_TRICKY = "\r\n\x85\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x00é😀\u0301a"


def _reference(text: str) -> list[str]:
    """The standard's rule, the slow way: a line ends at CRLF, LF or CR."""
    lines, current, i = [], "", 0
    while i < len(text):
        char = text[i]
        if char in "\r\n":
            lines.append(current)
            current = ""
            if char == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
        else:
            current += char
        i += 1
    return [*lines, current] if current else lines


@given(st.text(alphabet=st.sampled_from(_TRICKY)), st.lists(st.integers(0, 7), max_size=40))
def test_lines_end_at_cr_lf_and_crlf_only_wherever_the_chunks_are_cut(
    text: str, cuts: list[int]
) -> None:
    data = text.encode()
    chunks, start = [], 0
    for size in cuts:
        chunks.append(data[start : start + size])
        start += size
    chunks.append(data[start:])
    assert list(sse_lines(chunks)) == _reference(text)


def test_a_multibyte_character_cut_between_chunks_is_decoded_whole() -> None:
    data = "data: \u2028😀\n".encode()
    decoder = SSELineDecoder()
    lines = [line for i in range(len(data)) for line in decoder.feed(data[i : i + 1])]
    assert lines == ["data: \u2028😀"]
    assert decoder.flush() == []


@given(st.text())
def test_line_safe_json_is_one_line_to_every_splitter_and_decodes_to_the_value(text: str) -> None:
    value = {"text": text, "nested": [text]}
    encoded = line_safe_json(value)
    assert json.loads(encoded) == value
    assert len((encoded + "\n").splitlines()) == 1
    assert json.loads(line_safe_json(value, separators=(", ", ": "))) == value


def test_a_server_frame_of_any_text_parses_back_with_str_splitlines() -> None:
    """Even a client that splits like ``str.splitlines`` (httpx, qca-sdk) reads the frame."""
    text = "a\u2028b\u2029c\x85d\x00e"
    event = Event(id="evt_1", session_id="sess_1", type="user.message", processed_at=0)
    frame = format_event(event, {"type": "user.message", "text": text}).decode()
    parser = SSEParser()
    dispatched = [e for line in frame.splitlines() if (e := parser.feed(line)) is not None]
    dispatched += [e for e in [parser.feed("")] if e is not None]
    assert [json.loads(e.data)["text"] for e in dispatched] == [text]
