"""``workyard session``: create, list, show, archive and delete sessions."""

from __future__ import annotations

import itertools
from typing import Annotated

import typer

from workyard.cli.common import (
    Column,
    DataDirOption,
    JsonOption,
    LimitOption,
    MetadataOption,
    TokenOption,
    UrlOption,
    connect,
    parse_metadata,
    print_json,
    short_ts,
    show_list,
    show_object,
)
from workyard.client import Session

__all__ = ["COLUMNS", "app"]

app = typer.Typer(no_args_is_help=True, add_completion=False)

COLUMNS: list[Column[Session]] = [
    ("ID", lambda s: s.id),
    ("ENVIRONMENT", lambda s: s.environment_id),
    ("STATUS", lambda s: s.status),
    ("TITLE", lambda s: s.title),
    ("WORK", lambda s: s.work_id),
    ("CREATED", lambda s: short_ts(s.created_at)),
]

IdArgument = Annotated[str, typer.Argument(metavar="ID", help="Session id (sess_…).")]


@app.command("create")
def create(
    environment: Annotated[
        str, typer.Option("--environment", "-e", help="Self-hosted environment id (env_…).")
    ],
    title: Annotated[str | None, typer.Option(help="Session title.")] = None,
    metadata: MetadataOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a session, which queues its first work item for a worker."""
    entries = parse_metadata(metadata) if metadata else None
    with connect(url, token, data_dir) as client:
        session = client.sessions.create(environment, title=title, metadata=entries)
    show_object(session, as_json)


@app.command("list")
def list_(
    environment: Annotated[
        str | None, typer.Option("--environment", "-e", help="Only this environment's sessions.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="rescheduling, running or idle (repeatable)."),
    ] = None,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Also list archived sessions.")
    ] = False,
    limit: LimitOption = 20,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List sessions, newest first."""
    with connect(url, token, data_dir) as client:
        pages = client.sessions.list_all(
            environment_id=environment,
            statuses=status,
            include_archived=include_archived or None,
            limit=min(limit, 100),
        )
        sessions = list(itertools.islice(pages, limit))
    show_list(sessions, COLUMNS, as_json)


@app.command("get")
def get(
    session_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one session."""
    with connect(url, token, data_dir) as client:
        session = client.sessions.retrieve(session_id)
    show_object(session, as_json)


@app.command("archive")
def archive(
    session_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Archive a session; its live work item is asked to stop gracefully."""
    with connect(url, token, data_dir) as client:
        session = client.sessions.archive(session_id)
    show_object(session, as_json)


@app.command("delete")
def delete(
    session_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a session and its events; its live work item is force-stopped."""
    with connect(url, token, data_dir) as client:
        deleted = client.sessions.delete(session_id)
    if as_json:
        print_json(deleted.raw)
    else:
        typer.echo(f"Deleted session {deleted.id}")
