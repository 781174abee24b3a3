"""Entry point: ``workyard serve|status|db|token|env|session|work|worker``."""

from __future__ import annotations

import typer

from workyard.cli import db, environments, serve, sessions, status, tokens, work, worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="workyard",
    help="Control plane and worker runtime for self-hosted agent environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
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
    app()
