"""``workyard env``: create, list, show, update, archive and delete environments."""

from __future__ import annotations

import itertools
from enum import StrEnum
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
    fail,
    metadata_patch,
    parse_metadata,
    report,
    short_ts,
    show_list,
    show_object,
)
from workyard.client import Environment

__all__ = ["COLUMNS", "EnvironmentType", "app"]

app = typer.Typer(no_args_is_help=True, add_completion=False)


class EnvironmentType(StrEnum):
    """The kinds of environment (workyard dispatches work for ``self_hosted`` only)."""

    self_hosted = "self_hosted"
    cloud = "cloud"


COLUMNS: list[Column[Environment]] = [
    ("ID", lambda e: e.id),
    ("NAME", lambda e: e.name),
    ("TYPE", lambda e: e.environment_type),
    ("ARCHIVED", lambda e: "yes" if e.archived_at else ""),
    ("CREATED", lambda e: short_ts(e.created_at)),
]

IdArgument = Annotated[str, typer.Argument(metavar="ID", help="Environment id (env_…).")]


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Environment name (1-256 characters).")],
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    env_type: Annotated[
        EnvironmentType, typer.Option("--type", help="Where its work runs.")
    ] = EnvironmentType.self_hosted,
    metadata: MetadataOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an environment (self-hosted by default)."""
    entries = parse_metadata(metadata) if metadata else None
    with connect(url, token, data_dir) as client:
        env = client.environments.create(
            name, description=description, config={"type": env_type.value}, metadata=entries
        )
    show_object(env, as_json)


@app.command("list")
def list_(
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Also list archived environments.")
    ] = False,
    limit: LimitOption = 20,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List environments, newest first."""
    with connect(url, token, data_dir) as client:
        pages = client.environments.list_all(
            include_archived=include_archived or None, limit=min(limit, 100)
        )
        envs = list(itertools.islice(pages, limit))
    show_list(envs, COLUMNS, as_json)


@app.command("get")
def get(
    environment_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one environment."""
    with connect(url, token, data_dir) as client:
        env = client.environments.retrieve(environment_id)
    show_object(env, as_json)


@app.command("update")
def update(
    environment_id: IdArgument,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    metadata: MetadataOption = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", metavar="KEY", help="Delete a metadata key.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an environment's name, description or metadata (KEY= sets an empty value)."""
    patch = metadata_patch(metadata, unset)
    if name is None and description is None and not patch:
        fail("Nothing to update: pass --name, --description, --metadata or --unset.")
    with connect(url, token, data_dir) as client:
        env = client.environments.update(
            environment_id, name=name, description=description, metadata=patch or None
        )
    show_object(env, as_json)


@app.command("archive")
def archive(
    environment_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Archive an environment: no new sessions; running work keeps flowing."""
    with connect(url, token, data_dir) as client:
        env = client.environments.archive(environment_id)
    show_object(env, as_json)


@app.command("delete")
def delete(
    environment_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete an environment no session references (admin token; otherwise archive it)."""
    with connect(url, token, data_dir) as client:
        deleted = client.environments.delete(environment_id)
    report(deleted.raw, as_json, f"Deleted environment {deleted.id}")
