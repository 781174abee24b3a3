"""Helpers shared by the client-side commands (``env``, ``session``, ``work``).

Connection options resolve as: ``--url``, else ``WORKYARD_URL``, else ``http://127.0.0.1:8080``;
``--token``, else ``WORKYARD_TOKEN``, else ``<data dir>/admin.token`` (written by
``workyard serve``), else ``QODER_PAT``; the data dir is ``--data-dir``, else
``WORKYARD_DATA_DIR``, else ``./.workyard``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from workyard.cli.printing import console
from workyard.client import APIConnectionError, APIError, AsyncClient, Client

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_URL",
    "CliError",
    "DataDirOption",
    "JsonOption",
    "LimitOption",
    "MetadataOption",
    "Target",
    "TokenOption",
    "UrlOption",
    "api_errors",
    "connect",
    "fail",
    "format_error",
    "metadata_patch",
    "parse_metadata",
    "resolve_data_dir",
    "resolve_token",
    "resolve_url",
    "short_ts",
]

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


class CliError(Exception):
    """A problem found before any request was sent (no token, bad URL)."""


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


@dataclass(frozen=True)
class Target:
    """The server a client-side command talks to and the token it presents."""

    url: str
    token: str

    @classmethod
    def resolve(cls, url: str | None, token: str | None, data_dir: Path | None) -> Target:
        """From the connection options; a missing token exits with a one-line message."""
        try:
            return cls(resolve_url(url), resolve_token(token, resolve_data_dir(data_dir)))
        except CliError as exc:
            fail(str(exc))

    @contextmanager
    def client(self) -> Iterator[Client]:
        """A client; a malformed URL and API errors exit with a one-line message."""
        try:
            client = Client(self.url, self.token)
        except ValueError as exc:
            fail(str(exc))
        with client, api_errors():
            yield client

    def async_client(self) -> AsyncClient:
        """An async client (the caller maps its errors); a malformed URL exits."""
        try:
            return AsyncClient(self.url, self.token)
        except ValueError as exc:
            fail(str(exc))


def connect(
    url: str | None, token: str | None, data_dir: Path | None
) -> AbstractContextManager[Client]:
    """A client for the resolved server (see :class:`Target`)."""
    return Target.resolve(url, token, data_dir).client()


@contextmanager
def api_errors() -> Iterator[None]:
    """An API error raised inside exits with its one-line message (see :func:`format_error`)."""
    try:
        yield
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
    console(stderr=True).print(
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


def short_ts(value: str | None) -> str:
    """``2026-07-01T08:16:06.120394Z`` → ``2026-07-01 08:16:06``; ``None`` → ``""``."""
    return value[:19].replace("T", " ") if value else ""
