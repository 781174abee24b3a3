"""Compile ``:name`` placeholders to PostgreSQL's ``$n`` (once, at import)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Compiled", "compile_named"]

_PLACEHOLDER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]

    def args(self, params: dict[str, Any]) -> list[Any]:
        """Positional arguments in placeholder order (missing names are an error)."""
        return [params[name] for name in self.names]


def compile_named(sql: str) -> Compiled:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return Compiled(_PLACEHOLDER.sub(number, sql), tuple(names))
