"""Shared options for commands that open the database directly (serve, db, token)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from workyard.config import Settings, load_settings

__all__ = [
    "DataDirOption",
    "DatabaseUrlOption",
    "admin_token_path",
    "local_settings",
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


def admin_token_path(settings: Settings) -> Path:
    return settings.data_dir / "admin.token"


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)
