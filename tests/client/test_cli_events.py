"""``workyard session`` conversation rendering and the ``--until-idle`` bookkeeping (no I/O)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from typer.testing import CliRunner

from workyard.cli import sessions
from workyard.cli.conversation import Conversation, render_event
from workyard.client import Event

NOW = "2026-07-01T08:00:00Z"


def event(kind: str, n: int = 1, **fields: Any) -> Event:
    return Event.from_dict(
        {"id": f"evt_{n}", "type": kind, "session_id": "sess_1", "processed_at": NOW, **fields}
    )


def plain(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(markup, soft_wrap=True)
    return out.getvalue().rstrip("\n")


def styled(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system="standard", force_terminal=True).print(markup)
    return out.getvalue()


def test_messages_are_labelled() -> None:
    assert plain(render_event(event("user.message", content="fix it"))) == "you: fix it"
    assert plain(render_event(event("agent.message", content="done"))) == "agent: done"
    assert plain(render_event(event("system.message", content="note"))) == "system: note"
    assert plain(render_event(event("user.interrupt"))) == "you: (interrupt)"


def test_continuation_lines_are_indented_under_the_label() -> None:
    rendered = plain(render_event(event("agent.message", content="one\ntwo")))
    assert rendered.splitlines() == ["agent: one", "       two"]


def test_markup_in_text_is_shown_literally() -> None:
    assert plain(render_event(event("user.message", content="[red]x[/red]"))) == "you: [red]x[/red]"


def test_tools_and_errors() -> None:
    use = event("agent.tool_use", name="bash", input={"cmd": "ls -l"})
    assert plain(render_event(use)) == 'tool: bash {"cmd": "ls -l"}'
    ok = event("agent.tool_result", tool_use_id="t", content="3 files", is_error=False)
    assert plain(render_event(ok)) == "tool result: 3 files"
    failed = event("agent.tool_result", tool_use_id="t", content="denied", is_error=True)
    assert plain(render_event(failed)) == "tool error: denied"
    error = event("session.error", error={"message": "exit 3"})
    assert plain(render_event(error)) == "error: exit 3"
    assert "\x1b[31m" in styled(render_event(error))  # red
    assert "\x1b[31m" not in styled(render_event(event("agent.message", content="fine")))


def test_unknown_types_show_their_json() -> None:
    rendered = plain(render_event(event("agent.thinking", content="hmm")))
    assert rendered.startswith('agent.thinking: {"id": "evt_1", "type": "agent.thinking"')


def test_the_conversation_is_answered_by_agent_events_after_the_last_user_message() -> None:
    conversation = Conversation()
    assert not conversation.answered
    conversation.see(event("user.message", 1, content="a"))
    conversation.see(event("system.message", 2, content="started"))
    assert not conversation.answered
    conversation.see(event("agent.message", 3, content="b"))
    assert conversation.answered
    conversation.see(event("user.message", 4, content="c"))
    assert not conversation.answered
    conversation.see(event("session.error", 5, error={"message": "x"}))
    assert conversation.answered
    assert conversation.last_id == "evt_5"


def test_until_idle_needs_watch() -> None:
    result = CliRunner().invoke(
        sessions.app, ["create", "-e", "env_x", "--until-idle", "--token", "t"]
    )
    assert result.exit_code == 2
    assert "--until-idle needs --watch" in result.output
