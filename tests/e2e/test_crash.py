"""``kill -9`` of the server loses nothing it acknowledged with a 2xx."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from tests.e2e.conftest import start_server


def test_kill_9_mid_traffic_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    headers = {"authorization": f"Bearer {server.token}"}
    acknowledged: list[str] = []
    with httpx.Client(base_url=server.api, headers=headers, timeout=5) as http:
        env = http.post("/environments", json={"name": "c", "config": {"type": "self_hosted"}})
        env_id = env.json()["id"]
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                try:
                    response = http.post("/sessions", json={"environment_id": env_id})
                except httpx.TransportError:
                    return  # the server died under us: this request was never acknowledged
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])

        thread = threading.Thread(target=traffic)
        thread.start()
        while len(acknowledged) < 200:
            thread.join(0.01)  # let traffic flow until 200 creates were acknowledged
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        stop.set()
        thread.join()

    revived = start_server(data)
    try:
        with httpx.Client(base_url=revived.api, headers=headers, timeout=5) as http:
            seen: set[str] = set()
            page: str | None = None
            while True:
                params: dict[str, str | int] = {"limit": 100}
                if page:
                    params["page"] = page
                body = http.get("/sessions", params=params).json()
                seen |= {s["id"] for s in body["data"]}
                if not body["has_more"]:
                    break
                page = body["next_page"]
            assert set(acknowledged) <= seen
            work = http.get(f"/environments/{env_id}/work/stats").json()
            assert work["depth"] == len(seen)  # every session's item is queued, none half-made
    finally:
        revived.stop()
