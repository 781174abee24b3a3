"""``workyard work``: inspect an environment's work queue and stop items."""

from __future__ import annotations

import itertools
from typing import Annotated

import typer

from workyard.cli.common import (
    Column,
    DataDirOption,
    JsonOption,
    LimitOption,
    TokenOption,
    UrlOption,
    connect,
    short_ts,
    show_list,
    show_object,
)
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


@app.command("list")
def list_(
    environment_id: EnvArgument,
    state: Annotated[
        str | None,
        typer.Option(help="Comma-separated states: queued,starting,active,stopping,stopped."),
    ] = None,
    limit: LimitOption = 20,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List an environment's work items, oldest first."""
    with connect(url, token, data_dir) as client:
        pages = client.work.list_all(environment_id, state=state, limit=min(limit, 100))
        items = list(itertools.islice(pages, limit))
    show_list(items, COLUMNS, as_json)


@app.command("get")
def get(
    environment_id: EnvArgument,
    work_id: WorkArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one work item as it is now."""
    with connect(url, token, data_dir) as client:
        item = client.work.retrieve(environment_id, work_id)
    show_object(item, as_json)


@app.command("stats")
def stats(
    environment_id: EnvArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the queue's depth, pending deliveries, oldest queued item and polling workers."""
    with connect(url, token, data_dir) as client:
        queue_stats = client.work.stats(environment_id)
    show_object(queue_stats, as_json)


@app.command("stop")
def stop(
    environment_id: EnvArgument,
    work_id: WorkArgument,
    force: Annotated[
        bool, typer.Option("--force", help="Stop at once instead of asking the worker to drain.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop a work item: gracefully (the worker drains, then confirms) or with --force."""
    with connect(url, token, data_dir) as client:
        item = client.work.stop(environment_id, work_id, force=force)
    show_object(item, as_json)
