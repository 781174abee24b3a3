"""Shared options for commands that open the database directly (serve, db, token)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import asyncpg
import typer

from workyard.config import Settings, load_settings
from workyard.store import Store, StoreUnavailableError, open_store
from workyard.store.schema import SchemaTooNewError

__all__ = [
    "DataDirOption",
    "DatabaseUrlOption",
    "StoreOpenErrors",
    "admin_token_path",
    "describe_open_error",
    "exit_with_error",
    "local_settings",
    "opened_store",
    "redact_url",
    "write_secret",
]

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory [env: WORKYARD_DATA_DIR; default ./.workyard]"),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL [env: WORKYARD_DATABASE_URL; default sqlite:///<data dir>/workyard.db]",
    ),
]


def local_settings(data_dir: Path | None, database_url: str | None, **extra: Any) -> Settings:
    try:
        return load_settings(data_dir=data_dir, database_url=database_url, **extra)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


# What opening a database can fail with, operationally (reported in one line, no traceback).
StoreOpenErrors = (
    StoreUnavailableError,
    SchemaTooNewError,
    ValueError,  # an unsupported URL
    OSError,
    sqlite3.Error,
    asyncpg.PostgresError,
)


def describe_open_error(exc: BaseException, url: str) -> str:
    """One line for a failure to open the database at ``url`` (credentials left out)."""
    if isinstance(exc, SchemaTooNewError | ValueError):
        return str(exc)
    return f"cannot open the database {redact_url(url)}: {exc}"


def redact_url(url: str) -> str:
    """``scheme://***@host/…`` when the URL carries credentials."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def admin_token_path(settings: Settings) -> Path:
    return settings.data_dir / "admin.token"


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)


def exit_with_error(message: str) -> NoReturn:
    """``error: message`` on stderr and exit status 1: how a local command fails."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Store]:
    """The store at ``url``, open (migrated); a failure to open it exits 1 with one line."""
    try:
        store = open_store(url)
        await store.open()
    except StoreOpenErrors as exc:
        exit_with_error(describe_open_error(exc, url))
    try:
        yield store
    finally:
        await store.close()
