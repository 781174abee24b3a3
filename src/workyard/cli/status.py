"""``workyard status``: every self-hosted environment's queue at a glance, once or live."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from workyard.cli.common import DataDirOption, JsonOption, TokenOption, UrlOption, connect
from workyard.cli.printing import console, print_json
from workyard.client import Client, Environment, QueueStats
from workyard.clock import Instant, SystemClock, format_age, parse_ts

__all__ = ["QueueRow", "collect", "render", "status"]

_RUNNING = "starting,active,stopping"
_RUNNING_LIMIT = 100


@dataclass(frozen=True)
class QueueRow:
    """One environment's queue: its stats and how many items run now (capped at 100)."""

    environment: Environment
    stats: QueueStats
    running: int
    running_capped: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "environment_id": self.environment.id,
            "name": self.environment.name,
            "archived": self.environment.archived_at is not None,
            "depth": self.stats.depth,
            "pending": self.stats.pending,
            "running": self.running,
            "running_capped": self.running_capped,
            "oldest_queued_at": self.stats.oldest_queued_at,
            "workers_polling": self.stats.workers_polling,
        }


def collect(client: Client, include_archived: bool = False) -> list[QueueRow]:
    """Stats for every self-hosted environment: two small requests per environment."""
    rows = []
    for env in client.environments.list_all(include_archived=include_archived, limit=100):
        if env.config.get("type") != "self_hosted":
            continue
        stats = client.work.stats(env.id)
        running = client.work.list(env.id, state=_RUNNING, limit=_RUNNING_LIMIT)
        rows.append(QueueRow(env, stats, len(running.data), running.has_more))
    return rows


def _instant(timestamp: str | None) -> Instant | None:
    return None if timestamp is None else parse_ts(timestamp)


def render(rows: list[QueueRow], now: Instant) -> Table:
    """The status table (one row per environment)."""
    table = Table(header_style="bold", box=None, pad_edge=False)
    # The name above the id in one column, so that the table fits 80 columns.
    widest = max((len(row.environment.id) for row in rows), default=11)
    table.add_column("ENVIRONMENT", overflow="fold", min_width=widest)
    for header in ("QUEUED", "PENDING", "RUNNING", "OLDEST", "WORKERS"):
        table.add_column(header, no_wrap=True, justify="right", min_width=len(header))
    for row in rows:
        name = row.environment.name + (" (archived)" if row.environment.archived_at else "")
        running = f"{row.running}+" if row.running_capped else str(row.running)
        table.add_row(
            f"{escape(name)}\n[dim]{row.environment.id}[/dim]",
            str(row.stats.depth),
            str(row.stats.pending),
            running,
            format_age(_instant(row.stats.oldest_queued_at), now),
            str(row.stats.workers_polling),
        )
    if not rows:
        table.caption = "No self-hosted environments."
    return table


def _watch(fetch: Callable[[], list[QueueRow]], every: float) -> None:
    with Live(console=console(), auto_refresh=False) as live:
        while True:
            live.update(render(fetch(), SystemClock().now()), refresh=True)
            time.sleep(every)  # the refresh interval the user asked for


def status(
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch",
            "-w",
            metavar="SECONDS",
            min=0.5,
            help="Refresh every SECONDS until Ctrl-C.",
        ),
    ] = None,
    include_archived: Annotated[
        bool, typer.Option("--all", help="Include archived environments.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every self-hosted environment's queue: queued, pending, running, oldest, workers polling."""
    if watch is not None and as_json:
        raise typer.BadParameter("--watch and --json exclude each other")
    with connect(url, token, data_dir) as client:
        if watch is not None:
            try:
                _watch(lambda: collect(client, include_archived), watch)
            except KeyboardInterrupt:
                return
        rows = collect(client, include_archived)
    if as_json:
        print_json([row.to_json() for row in rows])
    else:
        console().print(render(rows, SystemClock().now()))
