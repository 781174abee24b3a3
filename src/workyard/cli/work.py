"""``workyard work``: inspect an environment's work queue and stop items."""

from __future__ import annotations

from typing import Annotated

import typer

from workyard.cli.commands import Request, client_command
from workyard.cli.common import LimitOption, short_ts
from workyard.cli.printing import Card, Column, Listing, page_size
from workyard.client import WorkItem

__all__ = ["COLUMNS", "app"]

app = typer.Typer(no_args_is_help=True, add_completion=False)

COLUMNS: list[Column[WorkItem]] = [
    ("ID", lambda w: w.id),
    ("STATE", lambda w: w.state),
    ("SESSION", lambda w: w.session_id),
    ("CREATED", lambda w: short_ts(w.created_at)),
    ("LAST HEARTBEAT", lambda w: short_ts(w.latest_heartbeat_at)),
    ("STOPPED", lambda w: short_ts(w.stopped_at)),
    ("METADATA", lambda w: " ".join(f"{k}={v}" for k, v in sorted(w.metadata.items()))),
]

EnvArgument = Annotated[str, typer.Argument(metavar="ENV", help="Environment id (env_…).")]
WorkArgument = Annotated[str, typer.Argument(metavar="WORK_ID", help="Work item id (work_…).")]


@client_command(app, "list")
def list_(
    environment_id: EnvArgument,
    state: Annotated[
        str | None,
        typer.Option(help="Comma-separated states: queued,starting,active,stopping,stopped."),
    ] = None,
    limit: LimitOption = 20,
) -> Request:
    """List an environment's work items, oldest first."""
    return lambda client: Listing.take(
        client.work.list_all(environment_id, state=state, limit=page_size(limit)), limit, COLUMNS
    )


@client_command(app, "get")
def get(environment_id: EnvArgument, work_id: WorkArgument) -> Request:
    """Show one work item as it is now."""
    return lambda client: Card(client.work.retrieve(environment_id, work_id))


@client_command(app, "stats")
def stats(environment_id: EnvArgument) -> Request:
    """Show the queue's depth, pending deliveries, oldest queued item and polling workers."""
    return lambda client: Card(client.work.stats(environment_id))


@client_command(app, "stop")
def stop(
    environment_id: EnvArgument,
    work_id: WorkArgument,
    force: Annotated[
        bool, typer.Option("--force", help="Stop at once instead of asking the worker to drain.")
    ] = False,
) -> Request:
    """Stop a work item: gracefully (the worker drains, then confirms) or with --force."""
    return lambda client: Card(client.work.stop(environment_id, work_id, force=force))
