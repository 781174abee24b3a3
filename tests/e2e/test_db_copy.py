"""``workyard db copy`` from the SQLite default to PostgreSQL keeps ids, timestamps and counts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.e2e.conftest import start_server, workyard_command
from tests.pg import fresh_schema_sync, require_postgres, schema_url


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*workyard_command(), *args], capture_output=True, text=True, timeout=120)


def test_copy_sqlite_to_postgres(tmp_path: Path) -> None:
    require_postgres()
    data = tmp_path / "data"
    server = start_server(data, "--manual-clock")
    headers = {"authorization": f"Bearer {server.token}"}
    try:
        with httpx.Client(base_url=server.api, headers=headers) as http:
            env = http.post(
                "/environments", json={"name": "ç", "config": {"type": "self_hosted"}}
            ).json()
            sessions = [
                http.post(
                    "/sessions", json={"environment_id": env["id"], "metadata": {"n": str(i)}}
                ).json()
                for i in range(5)
            ]
            http.delete(f"/sessions/{sessions[0]['id']}").raise_for_status()
            before_env = http.get(f"/environments/{env['id']}").json()
            before_work = http.get(f"/environments/{env['id']}/work").json()["data"]
    finally:
        server.stop()

    with fresh_schema_sync() as schema:
        target = schema_url(schema)
        source = f"sqlite:///{data / 'workyard.db'}"
        first = _run("db", "copy", "--from", source, "--to", target)
        assert first.returncode == 0, first.stderr
        assert "1 environments, 5 sessions, 5 work_items" in first.stdout
        again = _run("db", "copy", "--from", source, "--to", target)
        assert again.returncode == 1
        assert "not empty" in again.stderr
        forced = _run("db", "copy", "--from", source, "--to", target, "--force")
        assert forced.returncode == 0, forced.stderr

        pg_server = start_server(tmp_path / "pg", "--database-url", target)
        try:
            with httpx.Client(
                base_url=pg_server.api, headers={"authorization": f"Bearer {server.token}"}
            ) as http:
                assert http.get(f"/environments/{env['id']}").json() == before_env
                after_work = http.get(f"/environments/{env['id']}/work").json()["data"]
                assert after_work == before_work
                assert http.get(f"/sessions/{sessions[0]['id']}").status_code == 404
        finally:
            pg_server.stop()
