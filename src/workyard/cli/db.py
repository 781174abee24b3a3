"""``workyard db``: schema management."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from workyard.cli.local import DatabaseUrlOption, DataDirOption, local_settings
from workyard.store import StoreUnavailableError, open_store
from workyard.store.copy import CopyError, copy_store

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


@app.command("copy")
def copy(
    source: Annotated[
        str, typer.Option("--from", help="Source URL, e.g. sqlite:///.workyard/workyard.db")
    ],
    target: Annotated[str, typer.Option("--to", help="Target URL, e.g. postgresql://user@host/db")],
    force: Annotated[bool, typer.Option("--force", help="Empty a non-empty target first")] = False,
) -> None:
    """Copy everything (tokens, environments, sessions, work items) into another database.

    Ids and timestamps are kept and the per-table counts verified. Stop the servers first.
    """

    async def run() -> dict[str, int]:
        src, dst = open_store(source), open_store(target)
        await src.open()
        try:
            await dst.open()
            try:
                return await copy_store(src, dst, force=force)
            finally:
                await dst.close()
        finally:
            await src.close()

    try:
        counts = asyncio.run(run())
    except (CopyError, StoreUnavailableError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    typer.echo(f"copied and verified: {summary}")
