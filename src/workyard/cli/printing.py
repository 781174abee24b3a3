"""How every CLI command prints: JSON with ``--json``, else tables and lines for people.

A command's result is an :class:`Output`: :class:`Card` (one object as a field/value table),
:class:`Listing` (rows under a column spec, with the empty-list message and the paging footer)
or :class:`Outcome` (one line). ``show(as_json)`` prints it: JSON goes to stdout uncoloured and
unwrapped, so that it pipes into other tools; notes for people (no results, more to see) go to
stderr, so that stdout stays the table alone.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = [
    "NO_RESULTS",
    "Card",
    "Column",
    "HasRaw",
    "Listing",
    "Outcome",
    "Output",
    "console",
    "note",
    "page_size",
    "print_json",
]

T = TypeVar("T")

NO_RESULTS = "No results."
MAX_PAGE_SIZE = 100

Column = tuple[str, Callable[[T], str | None]]
"""A table column: its header and how to get a row's cell (``None`` prints as empty)."""


class HasRaw(Protocol):
    """An API object that keeps the JSON it was decoded from."""

    @property
    def raw(self) -> dict[str, Any]: ...


class Output(Protocol):
    """What a command prints."""

    def show(self, as_json: bool) -> None: ...


def console(stderr: bool = False) -> Console:
    """A console on the current stdout/stderr; piped output is not cut at 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 1000
    return Console(file=stream, stderr=stderr, highlight=False, width=width)


def print_json(value: object) -> None:
    """Pretty JSON on stdout, not colourised (safe to pipe into other tools)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def note(text: str) -> None:
    """A dim remark for people on stderr (``text`` is plain, not markup)."""
    console(stderr=True).print(f"[dim]{escape(text)}[/dim]", soft_wrap=True)


def page_size(limit: int) -> int:
    """The page size that fetches ``limit`` items and tells whether there are more."""
    return min(limit + 1, MAX_PAGE_SIZE)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return "\n".join(f"{k}={v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Card:
    """One object: its raw JSON, or a two-column field/value table."""

    obj: HasRaw

    def show(self, as_json: bool) -> None:
        if as_json:
            print_json(self.obj.raw)
            return
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in self.obj.raw.items():
            table.add_row(escape(key), escape(_cell(value)))
        console().print(table)


def _raw(item: object) -> object:
    return getattr(item, "raw", item)


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A list: a JSON array, or a table with one row per item and a footer when cut short."""

    items: Sequence[T]
    columns: Sequence[Column[T]]
    more: bool = False
    """More items exist than are shown (the table's footer says how to see them)."""
    to_json: Callable[[T], object] = _raw

    @classmethod
    def take(cls, items: Iterable[T], limit: int, columns: Sequence[Column[T]]) -> Listing[T]:
        """The first ``limit`` items; one more is read to learn whether the list goes on."""
        taken = list(itertools.islice(items, limit + 1))
        return cls(taken[:limit], columns, more=len(taken) > limit)

    def show(self, as_json: bool) -> None:
        if as_json:
            print_json([self.to_json(item) for item in self.items])
        elif not self.items:
            note(NO_RESULTS)
        else:
            console().print(self.table())
            if self.more:
                note(f"Showing the first {len(self.items)}; pass a larger --limit to see more.")

    def table(self) -> Table:
        """The items under the column headers; the first column (the id) is never cut."""
        rows = [[getter(item) or "" for _, getter in self.columns] for item in self.items]
        table = Table(header_style="bold")
        for index, (title, _) in enumerate(self.columns):
            widest = max((len(row[index]) for row in rows), default=0) if index == 0 else None
            table.add_column(title, no_wrap=True, min_width=widest)
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        return table


@dataclass(frozen=True)
class Outcome:
    """What a command did: its JSON with ``--json``, else one line for people."""

    raw: object
    message: str

    @classmethod
    def of(cls, obj: HasRaw, message: str) -> Outcome:
        """``obj``'s JSON, or ``message`` formatted with it: ``"Deleted {obj.id}"``."""
        return cls(obj.raw, message.format(obj=obj))

    def show(self, as_json: bool) -> None:
        if as_json:
            print_json(self.raw)
        else:
            typer.echo(self.message)
