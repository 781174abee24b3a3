"""The CLI's one printer (cards, listings, outcomes) and its one way of declaring a command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from workyard.cli import environments, tokens
from workyard.cli.commands import Request, Run, client_command, server_command
from workyard.cli.common import Target
from workyard.cli.printing import (
    NO_RESULTS,
    Card,
    Column,
    Listing,
    Outcome,
    page_size,
    print_json,
)
from workyard.client import Environment
from workyard.clock import parse_ts
from workyard.domain.models import TokenKind, TokenRecord

NOW = "2026-07-01T08:16:06.120394Z"


def env(n: int, **fields: Any) -> Environment:
    return Environment.from_dict(
        {
            "id": f"env_{n:032x}",
            "type": "environment",
            "name": f"name {n}",
            "config": {"type": "self_hosted"},
            "created_at": NOW,
            **fields,
        }
    )


def out_err(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


NAME_ONLY: list[Column[Environment]] = [("ID", lambda e: e.id), ("NAME", lambda e: e.name)]


# Printing


def test_print_json_keeps_non_ascii_text(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"name": "ünï ✓", "n": [1, None]})
    out, err = out_err(capsys)
    assert out == '{\n  "name": "ünï ✓",\n  "n": [\n    1,\n    null\n  ]\n}\n'
    assert err == ""


def test_card_prints_fields_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    item = env(1, archived_at=None, metadata={"job": "demo", "team": "a"}, later=[1, "ü"])
    Card(item).show(as_json=False)
    lines = out_err(capsys)[0].splitlines()
    assert lines[0].split() == ["id", item.id]
    assert ["config", "type=self_hosted"] in [line.split() for line in lines]
    assert ["later", "[1,", '"ü"]'] in [line.split() for line in lines]
    metadata = lines.index(next(line for line in lines if line.startswith("metadata")))
    assert lines[metadata].split() == ["metadata", "job=demo"]
    assert lines[metadata + 1].split() == ["team=a"]
    assert [line.split() for line in lines if line.startswith("archived_at")] == [["archived_at"]]


def test_card_shows_markup_literally(capsys: pytest.CaptureFixture[str]) -> None:
    Card(env(1, name="[red]x[/red]")).show(as_json=False)
    assert "[red]x[/red]" in out_err(capsys)[0]


def test_card_json_is_the_raw_object(capsys: pytest.CaptureFixture[str]) -> None:
    item = env(1, future_field={"kept": True})
    Card(item).show(as_json=True)
    assert json.loads(out_err(capsys)[0]) == item.raw


def test_listing_table_has_a_row_per_item(capsys: pytest.CaptureFixture[str]) -> None:
    items = [env(1), env(2, name="[b]bold[/b]")]
    Listing(items, NAME_ONLY).show(as_json=False)
    out, err = out_err(capsys)
    rows = [line.strip("│┃ ").split("│") for line in out.splitlines() if "env_" in line]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [items[0].id, "name 1"],
        [items[1].id, "[b]bold[/b]"],
    ]
    assert "ID" in out.splitlines()[1] and "NAME" in out.splitlines()[1]
    assert err == ""


def test_listing_keeps_the_id_column_whole_on_a_narrow_terminal() -> None:
    wide = env(1, name="x" * 300)
    narrow = Console(width=60, record=True, color_system=None)
    narrow.print(Listing([wide], NAME_ONLY).table())
    assert wide.id in narrow.export_text()


def test_empty_listing_says_so_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    Listing([], NAME_ONLY).show(as_json=False)
    out, err = out_err(capsys)
    assert out == "" and err.strip() == NO_RESULTS
    Listing([], NAME_ONLY).show(as_json=True)
    assert out_err(capsys) == ("[]\n", "")


def test_listing_json_is_the_raw_objects(capsys: pytest.CaptureFixture[str]) -> None:
    items = [env(1), env(2)]
    Listing(items, NAME_ONLY, more=True).show(as_json=True)
    out, err = out_err(capsys)
    assert json.loads(out) == [item.raw for item in items]
    assert err == ""  # no paging footer in JSON


def test_listing_footer_when_cut_short(capsys: pytest.CaptureFixture[str]) -> None:
    Listing([env(1), env(2)], NAME_ONLY, more=True).show(as_json=False)
    out, err = out_err(capsys)
    assert "Showing the first 2" in err and "--limit" in err
    assert "Showing" not in out
    Listing([env(1), env(2)], NAME_ONLY, more=False).show(as_json=False)
    assert out_err(capsys)[1] == ""


def counted(items: list[Environment], read: list[str]) -> Iterator[Environment]:
    for item in items:
        read.append(item.id)
        yield item


TAKE_CASES = [(5, 3, 3, True), (3, 3, 3, False), (2, 3, 2, False), (0, 1, 0, False)]


@pytest.mark.parametrize(("available", "limit", "shown", "more"), TAKE_CASES)
def test_listing_take_reads_one_item_past_the_limit(
    available: int, limit: int, shown: int, more: bool
) -> None:
    items = [env(n) for n in range(available)]
    read: list[str] = []
    listing = Listing.take(counted(items, read), limit, NAME_ONLY)
    assert list(listing.items) == items[:shown]
    assert listing.more is more
    assert read == [item.id for item in items[: limit + 1]]


def test_page_size_asks_for_one_more_within_the_api_maximum() -> None:
    assert [page_size(n) for n in (1, 20, 99, 100, 500)] == [2, 21, 100, 100, 100]


def test_outcome_formats_its_line_from_the_object(capsys: pytest.CaptureFixture[str]) -> None:
    item = env(7)
    Outcome.of(item, "Deleted environment {obj.id} ({obj.name})").show(as_json=False)
    assert out_err(capsys) == (f"Deleted environment {item.id} (name 7)\n", "")
    Outcome.of(item, "ignored").show(as_json=True)
    assert json.loads(out_err(capsys)[0]) == item.raw


def test_command_columns_render_their_objects() -> None:
    archived = env(1, archived_at=NOW)
    cells = [getter(archived) for _, getter in environments.COLUMNS]
    assert cells == [archived.id, "name 1", "self_hosted", "yes", "2026-07-01 08:16:06"]
    record = TokenRecord(
        id="tok_1", name="ci", kind=TokenKind.WORKER, environment_ids=("env_a", "env_b"),
        token_hash="h", created_at=parse_ts(NOW), expires_at=None, revoked_at=None,
    )  # fmt: skip
    cells = [getter(record) for _, getter in tokens.COLUMNS]
    assert cells == ["tok_1", "ci", "worker", "env_a, env_b", "2026-07-01 08:16:06", "never", ""]


# Declaring commands

app = typer.Typer()
seen: list[Target] = []


@client_command(app, "show")
def show(
    name: Annotated[str, typer.Argument(help="A name.")],
    shout: Annotated[bool, typer.Option("--shout", help="Upper case.")] = False,
) -> Request:
    """Show a made-up environment."""
    if name == "bad":
        raise typer.BadParameter("not that one", param_hint="NAME")
    return lambda client: Card(env(1, name=name.upper() if shout else name))


@server_command(app, "target")
def target() -> Run:
    """Say where the command would connect."""

    def run(resolved: Target) -> Outcome:
        seen.append(resolved)
        return Outcome({"url": resolved.url}, f"to {resolved.url}")

    return run


@pytest.fixture
def no_token_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (
        "WORKYARD_TOKEN",
        "QODER_ACCESS_TOKEN",
        "QODER_PAT",
        "WORKYARD_URL",
        "WORKYARD_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_command_gets_the_server_options_and_its_own(no_token_env: Path) -> None:
    result = CliRunner().invoke(app, ["show", "--help"])
    assert result.exit_code == 0
    for option in ("name", "--shout", "--url", "--token", "--data-dir", "--json"):
        assert option in result.stdout.lower()
    assert "Show a made-up environment." in result.stdout


def test_a_command_prints_what_its_request_returns(no_token_env: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["show", "lab", "--shout", "--token", "pt-x", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["name"] == "LAB"
    table = runner.invoke(app, ["show", "lab", "--token", "pt-x"])
    assert table.exit_code == 0
    assert ["name", "lab"] in [line.split() for line in table.stdout.splitlines()]


def test_a_plan_checks_its_arguments_before_the_token_is_looked_for(no_token_env: Path) -> None:
    bad = CliRunner().invoke(app, ["show", "bad"])
    assert bad.exit_code == 2 and "not that one" in bad.output
    no_token = CliRunner().invoke(app, ["show", "good"])
    assert no_token.exit_code == 1 and "No API token" in no_token.stderr


def test_a_server_command_gets_the_resolved_target(no_token_env: Path) -> None:
    (no_token_env / ".workyard").mkdir()
    (no_token_env / ".workyard" / "admin.token").write_text("pt-from-file\n")
    seen.clear()
    result = CliRunner().invoke(app, ["target", "--url", "http://elsewhere:1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "to http://elsewhere:1\n"
    assert seen == [Target("http://elsewhere:1", "pt-from-file")]
