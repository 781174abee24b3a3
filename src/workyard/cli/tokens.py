"""``workyard token create|list|revoke|generate`` (on the database directly; no HTTP API)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from workyard.cli.common import short_ts
from workyard.cli.local import (
    DatabaseUrlOption,
    DataDirOption,
    exit_with_error,
    local_settings,
    opened_store,
)
from workyard.cli.printing import Column, Listing, print_json
from workyard.clock import Instant, SystemClock, format_ts
from workyard.domain.models import TokenKind, TokenRecord
from workyard.errors import WorkyardError
from workyard.ids import is_id
from workyard.service.auth import TokenService, new_token_secret, parse_duration
from workyard.store import Store

__all__ = ["COLUMNS", "app"]

app = typer.Typer(no_args_is_help=True)
T = TypeVar("T")


def _with_tokens(
    data_dir: object, database_url: str | None, fn: Callable[[TokenService, Store], Awaitable[T]]
) -> T:
    settings = local_settings(data_dir, database_url)  # type: ignore[arg-type]

    async def run() -> T:
        async with opened_store(settings.resolved_database_url) as store:
            return await fn(TokenService(store, SystemClock()), store)

    return asyncio.run(run())


def _as_dict(t: TokenRecord) -> dict[str, object]:
    return {
        "id": t.id,
        "name": t.name,
        "kind": t.kind.value,
        "environment_ids": list(t.environment_ids),
        "created_at": format_ts(t.created_at),
        "expires_at": format_ts(t.expires_at) if t.expires_at is not None else None,
        "revoked_at": format_ts(t.revoked_at) if t.revoked_at is not None else None,
    }


def _when(instant: Instant | None, absent: str) -> str:
    return absent if instant is None else short_ts(format_ts(instant))


COLUMNS: list[Column[TokenRecord]] = [
    ("ID", lambda t: t.id),
    ("NAME", lambda t: t.name),
    ("KIND", lambda t: t.kind.value),
    ("ENVIRONMENTS", lambda t: ", ".join(t.environment_ids) or "all"),
    ("CREATED", lambda t: _when(t.created_at, "")),
    ("EXPIRES", lambda t: _when(t.expires_at, "never")),
    ("REVOKED", lambda t: _when(t.revoked_at, "")),
]


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A label for the token")],
    kind: Annotated[TokenKind, typer.Option("--kind", help="admin, member or worker")] = (
        TokenKind.MEMBER
    ),
    environment: Annotated[
        list[str] | None,
        typer.Option("--environment", help="Restrict a worker token to env_… (repeatable)"),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime such as 30d, 12h, 2w")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    envs = tuple(environment or ())
    for env_id in envs:
        if not is_id("env", env_id):
            raise typer.BadParameter(
                f"{env_id!r} is not an environment id", param_hint="--environment"
            )
    if envs and kind is not TokenKind.WORKER:
        raise typer.BadParameter("only worker tokens can be restricted", param_hint="--environment")
    try:
        seconds = parse_duration(expires_in) if expires_in else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expires-in") from None
    record, clear = _with_tokens(
        data_dir, database_url, lambda svc, _: svc.create(name, kind, envs, seconds)
    )
    if as_json:
        print_json({**_as_dict(record), "token": clear})
        return
    typer.echo(f"Created {record.kind.value} token {record.id} ({record.name}). Shown once:")
    typer.echo(clear)


@app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """List tokens (never their secrets)."""
    records = _with_tokens(data_dir, database_url, lambda _, store: store.list_tokens())
    Listing(records, COLUMNS, to_json=_as_dict).show(as_json)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="tok_… id from `workyard token list`")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke a token (takes effect on a running server within a few seconds)."""
    try:
        record = _with_tokens(data_dir, database_url, lambda svc, _: svc.revoke(token_id))
    except WorkyardError as exc:
        exit_with_error(exc.message)
    typer.echo(f"revoked {record.id} ({record.name})")


@app.command("generate")
def generate() -> None:
    """Print a new random token without storing it (for WORKYARD_ADMIN_TOKEN_FILE and the like)."""
    typer.echo(new_token_secret())
