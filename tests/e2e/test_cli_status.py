"""``workyard status``: every self-hosted environment's queue at a glance, from a real server."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_cli_e2e import cli, cli_json


def _post(http: httpx.Client, path: str, **kwargs: Any) -> Any:
    response = http.post(path, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def test_status_counts_each_queue(server: ServerProcess) -> None:
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=10) as http:
        busy = _post(
            http, "/environments", json={"name": "busy", "config": {"type": "self_hosted"}}
        )
        idle = _post(
            http, "/environments", json={"name": "idle", "config": {"type": "self_hosted"}}
        )
        _post(http, "/environments", json={"name": "in the cloud"})  # not self-hosted: not shown
        gone = _post(
            http, "/environments", json={"name": "gone", "config": {"type": "self_hosted"}}
        )
        _post(http, f"/environments/{gone['id']}/archive")
        for _ in range(4):
            _post(http, "/sessions", json={"environment_id": busy["id"]})
        work = f"/environments/{busy['id']}/work"
        polled = http.get(f"{work}/poll", headers={"worker-id": "w1"}).json()
        _post(http, f"{work}/{polled['id']}/ack", headers={"worker-id": "w1"})
        http.get(f"{work}/poll", headers={"worker-id": "w2"})  # delivered, not acknowledged
    server.advance(90)  # the oldest queued item waited 90 s; the ack lease expired at 60 s

    rows = {row["name"]: row for row in cli_json(server, "status")}
    assert set(rows) == {"busy", "idle"}
    assert rows["busy"] == {
        "environment_id": busy["id"],
        "name": "busy",
        "archived": False,
        "depth": 4,  # the expired lease is queued again, and 90 s is past every delivery window
        "pending": 0,
        "running": 0,
        "running_capped": False,
        "oldest_queued_at": rows["busy"]["oldest_queued_at"],
        "workers_polling": 0,  # the last poll was 90 s ago (the window is 30 s)
    }
    assert rows["busy"]["oldest_queued_at"] is not None
    assert rows["idle"]["environment_id"] == idle["id"]
    assert rows["idle"]["depth"] == 0
    assert rows["idle"]["oldest_queued_at"] is None

    everything = {row["name"]: row for row in cli_json(server, "status", "--all")}
    assert set(everything) == {"busy", "idle", "gone"}
    assert everything["gone"]["archived"] is True


def test_status_table_shows_running_items_and_polling_workers(server: ServerProcess) -> None:
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=10) as http:
        env = _post(http, "/environments", json={"name": "lab", "config": {"type": "self_hosted"}})
        for _ in range(3):
            _post(http, "/sessions", json={"environment_id": env["id"]})
        work = f"/environments/{env['id']}/work"
        item = http.get(f"{work}/poll", headers={"worker-id": "w1"}).json()
        _post(http, f"{work}/{item['id']}/ack", headers={"worker-id": "w1"})

    (row,) = cli_json(server, "status")
    assert (row["depth"], row["pending"], row["running"], row["workers_polling"]) == (2, 0, 1, 1)
    table = cli(server, "status").stdout
    header, name_line, id_line = table.splitlines()[:3]
    assert header.split() == ["ENVIRONMENT", "QUEUED", "PENDING", "RUNNING", "OLDEST", "WORKERS"]
    assert name_line.split()[0] == "lab"
    assert name_line.split()[1:4] == ["2", "0", "1"]
    assert name_line.split()[-1] == "1"
    assert id_line.strip() == env["id"]


def test_status_refuses_watch_with_json(server: ServerProcess) -> None:
    result = cli(server, "status", "--watch", "1", "--json", check=False)
    assert result.returncode == 2
    assert "--watch and --json exclude each other" in result.stderr
