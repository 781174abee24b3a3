"""How the CLI shows a session's conversation: one readable line per event."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.markup import escape

from workyard.cli.printing import console, print_json
from workyard.client import Event
from workyard.linesafe import line_safe_json

__all__ = ["ANSWER_TYPES", "Conversation", "EventLog", "Printer", "render_event"]


ANSWER_TYPES = frozenset({"agent.message", "agent.tool_use", "agent.tool_result", "session.error"})
"""The events that count as the session answering (for ``--until-idle``)."""

_LABELS: dict[str, tuple[str, str]] = {
    "user.message": ("you", "bold cyan"),
    "agent.message": ("agent", "bold green"),
    "system.message": ("system", "dim"),
}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def render_event(event: Event) -> str:
    """One event as rich markup: ``you: …``, ``agent: …``, ``tool: …``, ``error: …``."""
    if event.type in _LABELS:
        label, style = _LABELS[event.type]
        return _labelled(label, style, event.text)
    if event.type == "agent.tool_use":
        return _labelled("tool", "bold magenta", f"{event.name} {_compact(event.input)}")
    if event.type == "agent.tool_result":
        failed = bool(event.is_error)
        label, style = ("tool error", "bold red") if failed else ("tool result", "bold magenta")
        return _labelled(label, style, event.text, "red" if failed else "")
    if event.type == "session.error":
        return _labelled("error", "bold red", event.error_message or _compact(event.error), "red")
    if event.type == "user.interrupt":
        return "[bold yellow]you: (interrupt)[/bold yellow]"
    return _labelled(event.type, "dim", _compact(event.raw))


def _labelled(label: str, style: str, text: str, body_style: str = "") -> str:
    indent = " " * (len(label) + 2)
    body = escape(text.replace("\n", "\n" + indent))
    if body_style:
        body = f"[{body_style}]{body}[/{body_style}]"
    return f"[{style}]{escape(label)}:[/{style}] {body}"


class Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = console()

    def show(self, event: Event) -> None:
        if self.as_json:
            sys.stdout.write(line_safe_json(event.raw, separators=(", ", ": ")) + "\n")
            sys.stdout.flush()
        else:
            self.console.print(render_event(event), soft_wrap=True)

    def reconnecting(self, reason: str, delay: float) -> None:
        console(stderr=True).print(
            f"[dim]{escape(reason)} — reconnecting in {delay:.1f}s[/dim]", soft_wrap=True
        )


@dataclass(frozen=True)
class EventLog:
    """Events already stored: a JSON array of the raw events, or one line per event."""

    events: Sequence[Event]

    def show(self, as_json: bool) -> None:
        if as_json:
            print_json([event.raw for event in self.events])
            return
        printer = Printer(as_json=False)
        for event in self.events:
            printer.show(event)


class Conversation:
    """Whether the session has answered: an answer event since the last user message."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.answered = False

    def see(self, event: Event) -> None:
        self.last_id = event.id
        if event.type == "user.message":
            self.answered = False
        elif event.type in ANSWER_TYPES:
            self.answered = True
