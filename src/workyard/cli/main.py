"""Entry point: ``workyard serve|status|db|token|env|session|work|worker``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from workyard import __version__
from workyard.cli import db, environments, serve, sessions, status, tokens, work, worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="workyard",
    help="Control plane and worker runtime for self-hosted agent environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"workyard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Control plane and worker runtime for self-hosted agent environments."""


app.command("serve")(serve.serve)
app.command("status")(status.status)
app.add_typer(db.app, name="db", help="Database schema management.")
app.add_typer(tokens.app, name="token", help="Create, list and revoke API tokens.")
app.add_typer(environments.app, name="env", help="Manage environments.")
app.add_typer(sessions.app, name="session", help="Manage sessions.")
app.add_typer(work.app, name="work", help="Inspect and stop work items.")
app.add_typer(
    worker.app, name="worker", help="Run a worker that executes sessions on this machine."
)


def main() -> None:
    try:
        app(prog_name="workyard")
    except KeyboardInterrupt:  # Ctrl-C outside a command's own handling: quiet, like a shell
        sys.exit(130)
