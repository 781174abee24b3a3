"""The CLI's lists and one-line results against a real server: paging footers, token tables."""

from __future__ import annotations

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_cli_e2e import cli, cli_json

FOOTER = "pass a larger --limit to see more"


def _ids_in(table: str, ids: list[str]) -> list[str]:
    return [row_id for row_id in ids if row_id in table]


def test_a_list_cut_by_limit_says_so_and_a_whole_one_does_not(server: ServerProcess) -> None:
    made = [cli_json(server, "env", "create", f"e{n}")["id"] for n in range(3)]
    cut = cli(server, "env", "list", "--limit", "2")
    assert len(_ids_in(cut.stdout, made)) == 2
    assert FOOTER in cut.stderr and "Showing the first 2" in cut.stderr
    whole = cli(server, "env", "list", "--limit", "3")
    assert sorted(_ids_in(whole.stdout, made)) == sorted(made)
    assert whole.stderr == ""
    as_json = cli(server, "env", "list", "--limit", "2", "--json")
    assert as_json.stderr == "" and FOOTER not in as_json.stdout

    session = cli_json(server, "session", "create", "--environment", made[0])
    for _ in range(2):
        cli(server, "session", "send", session["id"], "hi")
    listed = cli(server, "session", "events", session["id"]).stdout.splitlines()
    assert listed == ["you: hi", "you: hi"]
    work = cli(server, "work", "list", made[0], "--limit", "1")
    assert session["work_id"] in work.stdout and work.stderr == ""


def test_one_line_results(server: ServerProcess) -> None:
    env_id = cli_json(server, "env", "create", "e")["id"]
    session = cli_json(server, "session", "create", "--environment", env_id)
    sent = cli(server, "session", "send", session["id"], "hello").stdout
    assert sent.startswith("Sent evt_") and sent.count("\n") == 1
    canceled = cli(server, "session", "cancel", session["id"]).stdout
    assert canceled == f"Session {session['id']}: canceling\n"
    deleted = cli(server, "session", "delete", session["id"]).stdout
    assert deleted == f"Deleted session {session['id']}\n"
    unused = cli_json(server, "env", "create", "unused")["id"]
    assert cli(server, "env", "delete", unused).stdout == f"Deleted environment {unused}\n"
    assert cli(server, "session", "list").stderr.strip() == "No results."


def test_token_list_has_the_same_table_as_the_other_lists(server: ServerProcess) -> None:
    created = cli_json(server, "token", "create", "--name", "ci ü", "--kind", "member")
    table = cli(server, "token", "list").stdout
    headers = [cell.strip() for cell in table.splitlines()[1].split("┃")[1:-1]]
    assert headers == ["ID", "NAME", "KIND", "ENVIRONMENTS", "CREATED", "EXPIRES", "REVOKED"]
    row = next(line for line in table.splitlines() if created["id"] in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:4] == [created["id"], "ci ü", "member", "all"]
    assert cells[4] == created["created_at"][:19].replace("T", " ")
    assert cells[5:] == ["never", ""]
    assert '"name": "ci ü"' in cli(server, "token", "list", "--json").stdout
