"""``workyard db``: schema status and upgrades, copying and pruning."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from workyard.cli.local import (
    DatabaseUrlOption,
    DataDirOption,
    StoreOpenErrors,
    describe_open_error,
    exit_with_error,
    local_settings,
    opened_store,
)
from workyard.clock import SystemClock
from workyard.service.auth import parse_duration
from workyard.service.retention import Retention
from workyard.store import StoreUnavailableError, open_store
from workyard.store.copy import CopyError, copy_store
from workyard.store.factory import sqlite_path
from workyard.store.schema import SchemaStatus, schema_status

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Apply every pending schema migration (serve also does this on start)."""
    settings = local_settings(data_dir, database_url)

    async def run() -> None:
        async with opened_store(settings.resolved_database_url):
            pass

    asyncio.run(run())
    typer.echo("database schema is up to date")


@app.command("status")
def status(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Show the applied and pending schema migrations (changes nothing)."""
    url = local_settings(data_dir, database_url).resolved_database_url
    try:
        found = asyncio.run(schema_status(url))
    except StoreOpenErrors as exc:
        exit_with_error(describe_open_error(exc, url))
    _print_status(found)
    if found.unknown:
        raise typer.Exit(1)


def _print_status(found: SchemaStatus) -> None:
    unknown = {version for version, _ in found.unknown}
    for version, name in found.applied:
        note = "  (newer than this workyard)" if version in unknown else ""
        typer.echo(f"applied  {version:04d}_{name}{note}")
    for version, name in found.pending:
        typer.echo(f"pending  {version:04d}_{name}")
    if found.unknown:
        summary = "the schema is newer than this workyard: upgrade workyard"
    elif found.pending:
        summary = f"{len(found.pending)} pending: run `workyard db upgrade` (or start the server)"
    else:
        summary = "up to date"
    typer.echo(summary)


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
    path = sqlite_path(source)
    if path is not None and not path.is_file():
        exit_with_error(f"no SQLite database at {path} (nothing to copy)")

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
    except (CopyError, StoreUnavailableError, *StoreOpenErrors) as exc:
        exit_with_error(str(exc))
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    typer.echo(f"copied and verified: {summary}")


@app.command("prune")
def prune(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Age, e.g. 30d, 12h [default: WORKYARD_RETENTION_DAYS days, 30]",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Delete stopped work items, and archived or deleted sessions with their events and work,
    older than the retention age (what the server does by itself every hour)."""
    settings = local_settings(data_dir, database_url)
    if older_than is not None:
        try:
            days = parse_duration(older_than) / 86400
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    elif settings.retention_days == 0:
        raise typer.BadParameter("retention is off (0 days): pass --older-than")
    else:
        days = settings.retention_days

    async def run() -> dict[str, int]:
        async with opened_store(settings.resolved_database_url) as store:
            retention = Retention(store, SystemClock(), settings.retention_days, idle=0)
            before = retention.cutoff(days)
            return await (store.count_prunable(before) if dry_run else retention.prune(before))

    counts = asyncio.run(run())
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    typer.echo(f"{'would delete' if dry_run else 'deleted'}: {summary}")
