"""Helpers shared by the client-side commands (``env``, ``session``, ``work``).

Connection options resolve as: ``--url``, else ``WORKYARD_URL``, else ``http://127.0.0.1:8080``;
``--token``, else ``WORKYARD_TOKEN``, else ``<data dir>/admin.token`` (written by
``workyard serve``), else ``QODER_PAT``; the data dir is ``--data-dir``, else
``WORKYARD_DATA_DIR``, else ``./.workyard``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, Protocol, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workyard.client import APIConnectionError, APIError, Client

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_URL",
    "CliError",
    "Column",
    "DataDirOption",
    "JsonOption",
    "LimitOption",
    "MetadataOption",
    "TokenOption",
    "UrlOption",
    "connect",
    "fail",
    "format_error",
    "metadata_patch",
    "parse_metadata",
    "print_json",
    "report",
    "resolve_data_dir",
    "resolve_token",
    "resolve_url",
    "short_ts",
    "show_list",
    "show_object",
]

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DATA_DIR = Path(".workyard")
TOKEN_FILE = "admin.token"

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Server URL [env: WORKYARD_URL; default: http://127.0.0.1:8080].",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token [env: WORKYARD_TOKEN; default: the data dir's admin.token].",
        show_default=False,
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where admin.token is [env: WORKYARD_DATA_DIR; default: .workyard].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON objects.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]
MetadataOption = Annotated[
    list[str] | None,
    typer.Option("--metadata", "-m", metavar="KEY=VALUE", help="Metadata entry (repeatable)."),
]


def _console(stderr: bool = False) -> Console:
    """A console on the current stdout/stderr; piped output is not cut at 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 1000
    return Console(file=stream, stderr=stderr, highlight=False, width=width)


class CliError(Exception):
    """A problem found before any request was sent (no token, bad URL)."""


class HasRaw(Protocol):
    """An API object that keeps the JSON it was decoded from."""

    @property
    def raw(self) -> dict[str, Any]: ...


Column = tuple[str, Callable[[T], str | None]]


# Connection


def resolve_url(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``--url``, else ``WORKYARD_URL``, else the local default."""
    env = os.environ if environ is None else environ
    return flag or env.get("WORKYARD_URL") or DEFAULT_URL


def resolve_data_dir(flag: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """``--data-dir``, else ``WORKYARD_DATA_DIR``, else ``./.workyard``."""
    env = os.environ if environ is None else environ
    if flag is not None:
        return flag
    value = env.get("WORKYARD_DATA_DIR")
    return Path(value) if value else DEFAULT_DATA_DIR


def resolve_token(
    flag: str | None, data_dir: Path, environ: Mapping[str, str] | None = None
) -> str:
    """``--token``, else ``WORKYARD_TOKEN``, else ``QODER_PAT``, else ``<data_dir>/admin.token``."""
    env = os.environ if environ is None else environ
    token = flag or env.get("WORKYARD_TOKEN") or env.get("QODER_PAT")
    token = token or _read_token_file(data_dir / TOKEN_FILE)
    if not token:
        raise CliError(
            f"No API token: pass --token, set WORKYARD_TOKEN, or start `workyard serve` once "
            f"so that it writes {data_dir / TOKEN_FILE}."
        )
    return token.strip()


def _read_token_file(token_file: Path) -> str | None:
    try:
        text = token_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"Cannot read {token_file}: {exc.strerror or exc}") from exc
    return text or None


@contextmanager
def connect(url: str | None, token: str | None, data_dir: Path | None) -> Iterator[Client]:
    """A client for the resolved server; API and set-up errors exit with a one-line message."""
    try:
        client = Client(resolve_url(url), resolve_token(token, resolve_data_dir(data_dir)))
    except (CliError, ValueError) as exc:  # ValueError: a malformed URL
        fail(str(exc))
    with client:
        try:
            yield client
        except APIError as exc:
            fail(format_error(exc))


def format_error(error: APIError) -> str:
    """One line: the message, then status, type, param and request id when known."""
    if isinstance(error, APIConnectionError):
        return error.message
    details = [f"{error.status} {error.error_type}"]
    if error.param is not None:
        details.append(f"param: {error.param}")
    request_id = getattr(error, "request_id", None)
    if request_id is not None:
        details.append(f"request_id: {request_id}")
    return f"{error.detail} ({', '.join(details)})"


def fail(message: str) -> NoReturn:
    """Print ``Error: message`` in red on stderr and exit with status 1."""
    _console(stderr=True).print(
        f"[bold red]Error:[/bold red] [red]{escape(message)}[/red]", soft_wrap=True
    )
    raise typer.Exit(1)


# Metadata


def parse_metadata(pairs: Sequence[str] | None) -> dict[str, str]:
    """``["k=v", "empty="]`` → ``{"k": "v", "empty": ""}``; the value may contain ``=``."""
    metadata: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--metadata")
        metadata[key] = value
    return metadata


def metadata_patch(
    pairs: Sequence[str] | None, unset: Sequence[str] | None
) -> dict[str, str | None]:
    """A merge patch: ``--metadata k=v`` sets ``k``, ``--unset k`` deletes it (``null``)."""
    patch: dict[str, str | None] = dict(parse_metadata(pairs))
    for key in unset or ():
        if not key:
            raise typer.BadParameter("the key must not be empty", param_hint="--unset")
        if key in patch:
            raise typer.BadParameter(f"{key!r} is both set and unset", param_hint="--unset")
        patch[key] = None
    return patch


# Output


def print_json(value: object) -> None:
    """Pretty JSON on stdout, not colourised (safe to pipe into other tools)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def report(raw: object, as_json: bool, message: str) -> None:
    """The outcome of a command: its JSON with ``--json``, else one line for people."""
    if as_json:
        print_json(raw)
    else:
        typer.echo(message)


def short_ts(value: str | None) -> str:
    """``2026-07-01T08:16:06.120394Z`` → ``2026-07-01 08:16:06``; ``None`` → ``""``."""
    return value[:19].replace("T", " ") if value else ""


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return "\n".join(f"{k}={v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def show_object(obj: HasRaw, as_json: bool) -> None:
    """One object: its raw JSON, or a two-column field/value table."""
    if as_json:
        print_json(obj.raw)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in obj.raw.items():
        table.add_row(escape(key), escape(_cell(value)))
    _console().print(table)


def show_list(items: Sequence[T], columns: Sequence[Column[T]], as_json: bool) -> None:
    """A list: a JSON array of the raw objects, or a table with one row per item."""
    if as_json:
        print_json([getattr(item, "raw", item) for item in items])
        return
    if not items:
        _console(stderr=True).print("[dim]No results.[/dim]")
        return
    rows = [[getter(item) or "" for _, getter in columns] for item in items]
    table = Table(header_style="bold")
    for index, (title, _) in enumerate(columns):
        # The first column (the id) is never cut, even on a narrow terminal.
        widest = max(len(row[index]) for row in rows) if index == 0 else None
        table.add_column(title, no_wrap=True, min_width=widest)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    _console().print(table)
