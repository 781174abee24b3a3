"""``workyard session``: create, list, show, archive and delete sessions; talk to them.

``create --message``, ``send``, ``cancel``, ``events`` and ``watch`` speak session events:
``watch`` follows a session live (resuming after a dropped connection) and prints the
conversation: ``you: …``, ``agent: …``, tool lines, errors in red.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated

import typer

from workyard.cli.common import (
    CliError,
    Column,
    DataDirOption,
    JsonOption,
    LimitOption,
    MetadataOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    format_error,
    parse_metadata,
    print_json,
    report,
    resolve_data_dir,
    resolve_token,
    resolve_url,
    short_ts,
    show_list,
    show_object,
)
from workyard.cli.conversation import Conversation, Printer, console
from workyard.client import APIError, AsyncClient, Event, Session, user_message

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
UntilIdleOption = Annotated[
    bool,
    typer.Option(
        "--until-idle",
        help="Exit once the session is idle and has answered (an agent event after the last "
        "user message) instead of running until Ctrl-C.",
    ),
]


@app.command("create")
def create(
    environment: Annotated[
        str, typer.Option("--environment", "-e", help="Self-hosted environment id (env_…).")
    ],
    title: Annotated[str | None, typer.Option(help="Session title.")] = None,
    metadata: MetadataOption = None,
    message: Annotated[
        str | None,
        typer.Option("--message", help="Then send this text as a user.message."),
    ] = None,
    watch_: Annotated[
        bool, typer.Option("--watch", help="Then follow the conversation (see `watch`).")
    ] = False,
    until_idle: UntilIdleOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a session, which queues its first work item for a worker."""
    if until_idle and not watch_:
        raise typer.BadParameter("--until-idle needs --watch", param_hint="--until-idle")
    entries = parse_metadata(metadata) if metadata else None
    with connect(url, token, data_dir) as client:
        session = client.sessions.create(environment, title=title, metadata=entries)
        if message is not None:
            client.sessions.events.send(session.id, [user_message(message)])
    if not watch_:
        show_object(session, as_json)
        return
    console(stderr=True).print(f"[dim]session {session.id} (work {session.work_id})[/dim]")
    _follow(session.id, until_idle, as_json, url, token, data_dir)


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
    report(deleted.raw, as_json, f"Deleted session {deleted.id}")


@app.command("send")
def send(
    session_id: IdArgument,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The message.")],
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a user message (to an idle session: its work is queued again)."""
    with connect(url, token, data_dir) as client:
        (created,) = client.sessions.events.send(session_id, [user_message(text)])
    report(created.raw, as_json, f"Sent {created.id}")


@app.command("cancel")
def cancel(
    session_id: IdArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Interrupt a running session (a user.interrupt reaches its worker)."""
    with connect(url, token, data_dir) as client:
        result = client.sessions.cancel(session_id)
    report(result.raw, as_json, f"Session {result.id}: {result.status}")


@app.command("events")
def events(
    session_id: IdArgument,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only events of this type (repeatable)."),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a session's events, oldest first (--json: a JSON array of the raw events)."""
    with connect(url, token, data_dir) as client:
        found = list(client.sessions.events.list_all(session_id, types=type_, limit=100))
    if as_json:
        print_json([event.raw for event in found])
        return
    printer = Printer(as_json=False)
    for event in found:
        printer.show(event)


@app.command("watch")
def watch(
    session_id: IdArgument,
    until_idle: UntilIdleOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Follow a session's conversation live, from its first event, until Ctrl-C.

    Dropped connections are resumed where they stopped (Last-Event-ID). --json prints one raw
    event per line (JSON Lines). Ends by itself when the session is deleted.
    """
    _follow(session_id, until_idle, as_json, url, token, data_dir)


# Following

_IDLE_CHECK_SECONDS = 0.5


def _follow(
    session_id: str,
    until_idle: bool,
    as_json: bool,
    url: str | None,
    token: str | None,
    data_dir: Path | None,
) -> None:
    try:
        client = AsyncClient(resolve_url(url), resolve_token(token, resolve_data_dir(data_dir)))
    except (CliError, ValueError) as exc:
        fail(str(exc))
    printer = Printer(as_json)
    try:
        ended = asyncio.run(_watch(client, session_id, until_idle, printer))
    except APIError as exc:
        fail(format_error(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if ended == "deleted":
        console(stderr=True).print("[dim]the session was deleted[/dim]")


async def _watch(client: AsyncClient, session_id: str, until_idle: bool, printer: Printer) -> str:
    """Print the session's events as they come; returns ``"idle"`` or ``"deleted"``."""
    conversation = Conversation()
    async with client:
        stream = client.sessions.events.stream(session_id, on_reconnect=printer.reconnecting)
        async with contextlib.aclosing(stream):
            consumer = asyncio.create_task(_consume(stream, conversation, printer.show))
            try:
                while not await _done_within(consumer, _IDLE_CHECK_SECONDS):
                    if until_idle and conversation.answered:
                        session = await client.sessions.retrieve(session_id)
                        if session.status == "idle":
                            consumer.cancel()
                            await asyncio.wait([consumer])
                            await _catch_up(client, session_id, conversation, printer)
                            return "idle"
            finally:
                consumer.cancel()
                await asyncio.wait([consumer])  # it must leave the stream before aclose()
            consumer.result()
    return "deleted"


async def _done_within(task: asyncio.Task[None], seconds: float) -> bool:
    done, _ = await asyncio.wait([task], timeout=seconds)
    return bool(done)


async def _consume(
    stream: AsyncIterator[Event], conversation: Conversation, show: Callable[[Event], None]
) -> None:
    async for event in stream:
        conversation.see(event)
        show(event)


async def _catch_up(
    client: AsyncClient, session_id: str, conversation: Conversation, printer: Printer
) -> None:
    """Print what the stream had not delivered yet when the session became idle."""
    async for event in client.sessions.events.list_all(
        session_id, after_id=conversation.last_id, limit=100
    ):
        conversation.see(event)
        printer.show(event)
