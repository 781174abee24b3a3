"""``workyard session``: create, list, show, archive and delete sessions; talk to them.

``create --message``, ``send``, ``cancel``, ``events`` and ``watch`` speak session events:
``watch`` follows a session live (resuming after a dropped connection) and prints the
conversation: ``you: …``, ``agent: …``, tool lines, errors in red.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

import typer

from workyard.cli.commands import Request, Run, client_command, server_command
from workyard.cli.common import (
    LimitOption,
    MetadataOption,
    Target,
    api_errors,
    parse_metadata,
    short_ts,
)
from workyard.cli.conversation import Conversation, EventLog, Printer
from workyard.cli.printing import Card, Column, Listing, Outcome, Output, note, page_size
from workyard.client import AsyncClient, Event, Session, user_message

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


@server_command(app, "create")
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
) -> Run:
    """Create a session, which queues its first work item for a worker."""
    if until_idle and not watch_:
        raise typer.BadParameter("--until-idle needs --watch", param_hint="--until-idle")
    entries = parse_metadata(metadata) if metadata else None

    def run(target: Target) -> Output:
        with target.client() as client:
            session = client.sessions.create(environment, title=title, metadata=entries)
            if message is not None:
                client.sessions.events.send(session.id, [user_message(message)])
        if not watch_:
            return Card(session)
        note(f"session {session.id} (work {session.work_id})")
        return Follow(target, session.id, until_idle)

    return run


@client_command(app, "list")
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
) -> Request:
    """List sessions, newest first."""
    return lambda client: Listing.take(
        client.sessions.list_all(
            environment_id=environment,
            statuses=status,
            include_archived=include_archived or None,
            limit=page_size(limit),
        ),
        limit,
        COLUMNS,
    )


@client_command(app, "get")
def get(session_id: IdArgument) -> Request:
    """Show one session."""
    return lambda client: Card(client.sessions.retrieve(session_id))


@client_command(app, "archive")
def archive(session_id: IdArgument) -> Request:
    """Archive a session; its live work item is asked to stop gracefully."""
    return lambda client: Card(client.sessions.archive(session_id))


@client_command(app, "delete")
def delete(session_id: IdArgument) -> Request:
    """Delete a session and its events; its live work item is force-stopped."""
    return lambda client: Outcome.of(client.sessions.delete(session_id), "Deleted session {obj.id}")


@client_command(app, "send")
def send(
    session_id: IdArgument,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The message.")],
) -> Request:
    """Send a user message (to an idle session: its work is queued again)."""
    return lambda client: Outcome.of(
        client.sessions.events.send(session_id, [user_message(text)])[0], "Sent {obj.id}"
    )


@client_command(app, "cancel")
def cancel(session_id: IdArgument) -> Request:
    """Interrupt a running session (a user.interrupt reaches its worker)."""
    return lambda client: Outcome.of(
        client.sessions.cancel(session_id), "Session {obj.id}: {obj.status}"
    )


@client_command(app, "events")
def events(
    session_id: IdArgument,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only events of this type (repeatable)."),
    ] = None,
) -> Request:
    """Print a session's events, oldest first (--json: a JSON array of the raw events)."""
    return lambda client: EventLog(
        list(client.sessions.events.list_all(session_id, types=type_, limit=100))
    )


@server_command(app, "watch")
def watch(session_id: IdArgument, until_idle: UntilIdleOption = False) -> Run:
    """Follow a session's conversation live, from its first event, until Ctrl-C.

    Dropped connections are resumed where they stopped (Last-Event-ID). --json prints one raw
    event per line (JSON Lines). Ends by itself when the session is deleted.
    """
    return lambda target: Follow(target, session_id, until_idle)


# Following

_IDLE_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class Follow:
    """A session's conversation as it happens (``--json``: one raw event per line)."""

    target: Target
    session_id: str
    until_idle: bool

    def show(self, as_json: bool) -> None:
        client = self.target.async_client()
        printer = Printer(as_json)
        try:
            with api_errors():
                ended = asyncio.run(_watch(client, self.session_id, self.until_idle, printer))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        if ended == "deleted":
            note("the session was deleted")


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
