"""JSON text that survives every line splitter: one JSON value per line, whatever it contains.

JSON already escapes U+0000–U+001F, but not U+0085 (NEL), U+2028 (LINE SEPARATOR) and U+2029
(PARAGRAPH SEPARATOR). Python's ``str.splitlines`` — and with it httpx's ``iter_lines``, which the
official SDKs use to read event streams — splits lines on those three, so a raw one inside an SSE
``data:`` line or a stdin feed line would cut a JSON document in two. Inside a JSON string each may
be written as its ``\\uXXXX`` escape instead: the decoded value is the same.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["line_safe_json"]

_SEPARATORS = (",", ":")
_ESCAPES = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def line_safe_json(value: Any, *, separators: tuple[str, str] = _SEPARATORS) -> str:
    """``value`` as JSON (non-ASCII kept as is) with no character any line splitter breaks on."""
    text = json.dumps(value, separators=separators, ensure_ascii=False)
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return text.translate(_ESCAPES)
    return text
