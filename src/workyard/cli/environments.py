"""``workyard env``: create, list, show, update, archive and delete environments."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from workyard.cli.commands import Request, client_command
from workyard.cli.common import (
    LimitOption,
    MetadataOption,
    fail,
    metadata_patch,
    parse_metadata,
    short_ts,
)
from workyard.cli.printing import Card, Column, Listing, Outcome, page_size
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


@client_command(app, "create")
def create(
    name: Annotated[str, typer.Argument(help="Environment name (1-256 characters).")],
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    env_type: Annotated[
        EnvironmentType, typer.Option("--type", help="Where its work runs.")
    ] = EnvironmentType.self_hosted,
    metadata: MetadataOption = None,
) -> Request:
    """Create an environment (self-hosted by default)."""
    entries = parse_metadata(metadata) if metadata else None
    config = {"type": env_type.value}
    return lambda client: Card(
        client.environments.create(name, description=description, config=config, metadata=entries)
    )


@client_command(app, "list")
def list_(
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Also list archived environments.")
    ] = False,
    limit: LimitOption = 20,
) -> Request:
    """List environments, newest first."""
    return lambda client: Listing.take(
        client.environments.list_all(
            include_archived=include_archived or None, limit=page_size(limit)
        ),
        limit,
        COLUMNS,
    )


@client_command(app, "get")
def get(environment_id: IdArgument) -> Request:
    """Show one environment."""
    return lambda client: Card(client.environments.retrieve(environment_id))


@client_command(app, "update")
def update(
    environment_id: IdArgument,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    metadata: MetadataOption = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", metavar="KEY", help="Delete a metadata key.")
    ] = None,
) -> Request:
    """Change an environment's name, description or metadata (KEY= sets an empty value)."""
    patch = metadata_patch(metadata, unset)
    if name is None and description is None and not patch:
        fail("Nothing to update: pass --name, --description, --metadata or --unset.")
    return lambda client: Card(
        client.environments.update(
            environment_id, name=name, description=description, metadata=patch or None
        )
    )


@client_command(app, "archive")
def archive(environment_id: IdArgument) -> Request:
    """Archive an environment: no new sessions; running work keeps flowing."""
    return lambda client: Card(client.environments.archive(environment_id))


@client_command(app, "delete")
def delete(environment_id: IdArgument) -> Request:
    """Delete an environment no session references (admin token; otherwise archive it)."""
    return lambda client: Outcome.of(
        client.environments.delete(environment_id), "Deleted environment {obj.id}"
    )
