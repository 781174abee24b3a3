"""``workyard db``: schema management."""

from __future__ import annotations

import asyncio

import typer

from workyard.cli.local import DatabaseUrlOption, DataDirOption, local_settings
from workyard.store import open_store

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Apply every pending schema migration (serve also does this on start)."""
    settings = local_settings(data_dir, database_url)

    async def run() -> None:
        store = open_store(settings.resolved_database_url)
        await store.open()
        await store.close()

    asyncio.run(run())
    typer.echo("database schema is up to date")
