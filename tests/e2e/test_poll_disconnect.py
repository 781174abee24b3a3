"""A blocked poll whose client disconnects leaves the item to the next worker (spec/work.md §5.4).

Real ``workyard serve --manual-clock`` processes; the emulator clock stays frozen, so a delivery
window can never elapse: only a poll that did not claim leaves the item for the next worker.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import ServerProcess, serving
from tests.pg import schema_url

DEPARTED = "departed-worker"


@pytest.fixture(params=["sqlite", "postgres"])
def frozen_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    with serving(request.param, tmp_path / "data", "--manual-clock") as server:
        yield server


def stored_claim(server: ServerProcess, work_id: str) -> tuple[int, str | None]:
    """``(version, delivered_to)`` as stored: every claim bumps the version."""
    sql = "SELECT version, delivered_to FROM work_items WHERE id = "
    if not server.schema:
        db = sqlite3.connect(f"file:{server.data_dir / 'workyard.db'}?mode=ro", uri=True)
        try:
            version, delivered_to = db.execute(sql + "?", (work_id,)).fetchone()
        finally:
            db.close()
        return version, delivered_to

    async def fetch() -> tuple[int, str | None]:
        conn = await asyncpg.connect(schema_url(server.schema))
        try:
            row = await conn.fetchrow(sql + "$1", work_id)
        finally:
            await conn.close()
        return row["version"], row["delivered_to"]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fetch()).result()


def open_blocked_poll(server: ServerProcess, env_id: str) -> socket.socket:
    """Send a long poll on a raw keep-alive socket and leave it waiting for the answer."""
    url = urlsplit(server.url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    request = (
        f"GET /api/v1/cloud/environments/{env_id}/work/poll?block_ms=999 HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nAuthorization: Bearer {server.token}\r\n"
        f"Worker-ID: {DEPARTED}\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock


def test_a_departed_poll_never_claims_and_the_next_worker_gets_the_item(
    frozen_server: ServerProcess,
) -> None:
    server = frozen_server
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=10) as http:
        env = http.post("/environments", json={"name": "d", "config": {"type": "self_hosted"}})
        env_id = env.json()["id"]
        work = f"/environments/{env_id}/work"
        sock = open_blocked_poll(server, env_id)
        for _ in range(500):  # the poll is waiting once its worker counts as polling
            if http.get(f"{work}/stats").json()["workers_polling"] == 1:
                break
        else:
            raise AssertionError("the blocked poll never registered")
        sock.close()  # the client goes away while its poll is blocked
        session = http.post("/sessions", json={"environment_id": env_id}).json()
        item = http.get(f"{work}/poll", headers={"Worker-ID": "present"}).json()  # no waiting
        assert item is not None
        assert item["id"] == session["work_id"]
        late_ack = http.post(f"{work}/{item['id']}/ack", headers={"Worker-ID": DEPARTED})
        assert late_ack.status_code == 409
    # Created (1), then claimed by "present" (2). If the server read the enqueue before the
    # departed client's FIN (a loaded machine may order the two connections so), the departed
    # poll was woken first and claimed (2), its answer could not be written, and the claim was
    # undone at once (3) before "present" claimed (4). Never a claim left with the departed: the
    # no-claim rule itself is checked deterministically in tests/api/test_work_waiters.py.
    version, delivered_to = stored_claim(server, item["id"])
    assert (version, delivered_to) in {(2, "present"), (4, "present")}
